// Package codec is the binary encoding shared by core's commands, results
// and snapshots: fixed-width big-endian integers, length-prefixed byte
// strings and bounded collection counts.
//
// Contracts:
//
//   - Writer never fails; it only appends.
//   - Reader never panics on any input. The first problem (truncation, a
//     length over its bound, trailing bytes) becomes a sticky error; every
//     later read returns a zero value, so decoders read all fields and check
//     Err (or Finish) once at the end.
//   - Lengths and counts are bounded by the caller (MaxBytes, Count's max),
//     so a hostile length prefix cannot make a decoder allocate more than the
//     input could hold.
//
// The encoding is stable: a field is never reinterpreted. Changing a
// message means a new version byte in the message's own header (see the
// state-machine packages' command.go).
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxBytes bounds any single length-prefixed field: 1 GiB, well above the
// largest record batch a broker accepts (max.message.bytes), and below what
// an int32 length can say.
const MaxBytes = 1 << 30

// Writer appends encoded fields to a buffer.
type Writer struct {
	buf []byte
}

// NewWriter returns a Writer whose buffer starts with capacity sizeHint bytes.
func NewWriter(sizeHint int) *Writer { return &Writer{buf: make([]byte, 0, sizeHint)} }

// Bytes returns the encoded buffer. The Writer must not be used afterwards.
func (w *Writer) Bytes() []byte { return w.buf }

func (w *Writer) Uint8(v uint8)   { w.buf = append(w.buf, v) }
func (w *Writer) Bool(v bool)     { w.Uint8(boolByte(v)) }
func (w *Writer) Int16(v int16)   { w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(v)) }
func (w *Writer) Int32(v int32)   { w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v)) }
func (w *Writer) Int64(v int64)   { w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(v)) }
func (w *Writer) Uint32(v uint32) { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }
func (w *Writer) Uint64(v uint64) { w.buf = binary.BigEndian.AppendUint64(w.buf, v) }

// Count writes a collection length; pair it with Reader.Count.
func (w *Writer) Count(n int) { w.Uint32(uint32(n)) }

// ByteString writes b with a uint32 length prefix. nil and empty encode the
// same way and decode as nil.
func (w *Writer) ByteString(b []byte) {
	w.Uint32(uint32(len(b)))
	w.buf = append(w.buf, b...)
}

// String writes s with a uint32 length prefix.
func (w *Writer) String(s string) {
	w.Uint32(uint32(len(s)))
	w.buf = append(w.buf, s...)
}

// Strings writes a count then each string.
func (w *Writer) Strings(ss []string) {
	w.Count(len(ss))
	for _, s := range ss {
		w.String(s)
	}
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// ErrTruncated reports input that ended before a field did.
var ErrTruncated = errors.New("codec: input truncated")

// Reader decodes fields from a buffer with a sticky error.
type Reader struct {
	buf []byte
	off int
	err error
}

// NewReader reads from b. Byte strings returned by the Reader alias b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Remaining is the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.buf) - r.off }

// Fail records err (if none is recorded yet) so that decoders can report a
// semantic problem (an unknown kind, a bad version) through the same path.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Finish returns the first error, or an error if bytes are left unread:
// trailing garbage is as much a decoding failure as truncation.
func (r *Reader) Finish() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.buf) {
		return fmt.Errorf("codec: %d trailing bytes", len(r.buf)-r.off)
	}
	return nil
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.Remaining() < n {
		r.err = ErrTruncated
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *Reader) Uint8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool decodes a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	v := r.Uint8()
	if v > 1 {
		r.Fail(fmt.Errorf("codec: bool byte %d", v))
		return false
	}
	return v == 1
}

func (r *Reader) Int16() int16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(b))
}

func (r *Reader) Int32() int32 { return int32(r.Uint32()) }
func (r *Reader) Int64() int64 { return int64(r.Uint64()) }

func (r *Reader) Uint32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *Reader) Uint64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Count reads a collection length and fails if it exceeds max or if the
// remaining input cannot hold that many elements of at least minElemBytes
// each (so a hostile count cannot force a large allocation).
func (r *Reader) Count(max int, minElemBytes int) int {
	n := r.Uint32()
	if r.err != nil {
		return 0
	}
	if uint64(n) > uint64(max) {
		r.Fail(fmt.Errorf("codec: count %d over its bound %d", n, max))
		return 0
	}
	if minElemBytes > 0 && uint64(n)*uint64(minElemBytes) > uint64(r.Remaining()) {
		r.err = ErrTruncated
		return 0
	}
	return int(n)
}

// ByteString reads a length-prefixed byte string of at most max bytes. The
// result aliases the input; copy it if the input buffer will be reused.
// An empty string decodes as nil.
func (r *Reader) ByteString(max int) []byte {
	n := r.Uint32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(max) {
		r.Fail(fmt.Errorf("codec: byte string of %d bytes over its bound %d", n, max))
		return nil
	}
	b := r.take(int(n))
	if len(b) == 0 {
		return nil
	}
	return b
}

// String reads a length-prefixed string of at most max bytes.
func (r *Reader) String(max int) string { return string(r.ByteString(max)) }

// Strings reads what Writer.Strings wrote: at most maxCount strings of at
// most maxLen bytes each.
func (r *Reader) Strings(maxCount, maxLen int) []string {
	n := r.Count(maxCount, 4)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.String(maxLen)
	}
	if r.err != nil {
		return nil
	}
	return out
}
