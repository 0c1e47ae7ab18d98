package batch

import (
	"github.com/tidemark/tidemark/core"
)

// Record is one record of a batch: what Build encodes and Records decodes.
// A nil Key or Value is Kafka's null (length -1); an empty non-nil one has
// length 0.
type Record struct {
	// TimestampMs is the record's timestamp; the batch stores it as a delta
	// from the batch's FirstTimestamp.
	TimestampMs int64
	Key         []byte
	Value       []byte
	Headers     []RecordHeader
}

// RecordHeader is a record header. Its key is never null; a nil Value is
// null.
type RecordHeader struct {
	Key   string
	Value []byte
}

// Records decodes the records of one uncompressed batch, checking framing,
// CRC and counts first. The i-th record has offset BaseOffset+i (the offset
// deltas are checked to be 0, 1, 2, ...). Keys, values and header values
// are copied out of b. A compressed batch is UnsupportedForMessageFormat:
// core never decompresses.
func Records(b []byte) ([]Record, *core.Error) {
	if len(b) <= offMagic || int8(b[offMagic]) != Magic {
		return nil, core.Errorf(core.CorruptMessage, "not a magic-2 record batch")
	}
	h, err := checkFraming(b, core.CorruptMessage)
	if err != nil {
		return nil, err
	}
	if err := checkCRC(b, h, core.CorruptMessage); err != nil {
		return nil, err
	}
	if err := checkCounts(h, core.InvalidRecord); err != nil {
		return nil, err
	}
	if h.Codec() != CodecNone {
		return nil, core.Errorf(core.UnsupportedForMessageFormat, "records compressed with %s are not decoded", h.Codec())
	}
	out := make([]Record, 0, min(int(h.RecordCount), (len(b)-HeaderSize)/minRecordBytes))
	if err := walkRecords(b, h, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// minRecordBytes is the smallest encoded record: length, attributes,
// timestamp delta, offset delta, key length, value length and header count
// at one byte each.
const minRecordBytes = 7

// walkRecords checks the uncompressed records of b against h: exactly
// RecordCount records, offset deltas 0..n-1, each record's length prefix
// matching its fields, no bytes left over. When out is non-nil the records
// are appended to it (copying their data); otherwise nothing is allocated.
func walkRecords(b []byte, h Header, out *[]Record) *core.Error {
	r := varReader{buf: b[HeaderSize:]}
	for i := int32(0); i < h.RecordCount; i++ {
		if r.remaining() == 0 {
			return core.Errorf(core.InvalidRecord, "record batch claims %d records but holds %d", h.RecordCount, i)
		}
		length := r.varint()
		if r.bad || length < 0 || int64(length) > int64(r.remaining()) {
			return core.Errorf(core.InvalidRecord, "record %d: bad length", i)
		}
		end := r.off + int(length)
		rec := varReader{buf: r.buf[:end], off: r.off}
		rec.byte1() // attributes: unused by Kafka
		tsDelta := rec.varlong()
		offsetDelta := rec.varint()
		key := rec.nullableBytes()
		value := rec.nullableBytes()
		nHeaders := rec.varint()
		if rec.bad || nHeaders < 0 {
			return core.Errorf(core.InvalidRecord, "record %d: malformed", i)
		}
		if offsetDelta != i {
			return core.Errorf(core.InvalidRecord, "record %d has offset delta %d: offsets must be sequential", i, offsetDelta)
		}
		var headers []RecordHeader
		for j := int32(0); j < nHeaders && !rec.bad; j++ {
			hk := rec.nullableBytes()
			if hk == nil && !rec.bad {
				// A null header key is invalid; an empty one is fine but
				// nullableBytes returns empty (non-nil) for it.
				return core.Errorf(core.InvalidRecord, "record %d header %d has a null key", i, j)
			}
			hv := rec.nullableBytes()
			if out != nil && !rec.bad {
				headers = append(headers, RecordHeader{Key: string(hk), Value: clone(hv)})
			}
		}
		if rec.bad || rec.off != end {
			return core.Errorf(core.InvalidRecord, "record %d: fields do not fill its length %d", i, length)
		}
		if out != nil {
			*out = append(*out, Record{
				TimestampMs: h.FirstTimestamp + tsDelta,
				Key:         clone(key),
				Value:       clone(value),
				Headers:     headers,
			})
		}
		r.off = end
	}
	if r.remaining() != 0 {
		return core.Errorf(core.InvalidRecord, "%d bytes follow the last of %d records", r.remaining(), h.RecordCount)
	}
	return nil
}

// clone copies b, keeping nil (null) distinct from empty.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// varReader reads Kafka's zigzag varints with a sticky failure flag. It
// mirrors Kafka's ByteUtils: a varint is at most 5 bytes and a varlong at
// most 10; high bits past the type's width are dropped, as Kafka does.
type varReader struct {
	buf []byte
	off int
	bad bool
}

func (r *varReader) remaining() int { return len(r.buf) - r.off }

func (r *varReader) byte1() byte {
	if r.bad || r.off >= len(r.buf) {
		r.bad = true
		return 0
	}
	v := r.buf[r.off]
	r.off++
	return v
}

func (r *varReader) uvarint(maxBytes int) uint64 {
	var v uint64
	for i := 0; i < maxBytes; i++ {
		c := r.byte1()
		if r.bad {
			return 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *varReader) varint() int32 {
	u := uint32(r.uvarint(5))
	return int32(u>>1) ^ -int32(u&1)
}

func (r *varReader) varlong() int64 {
	u := r.uvarint(10)
	return int64(u>>1) ^ -int64(u&1)
}

// nullableBytes reads a varint length and that many bytes: -1 is null
// (nil); 0 is empty but non-nil. The result aliases the buffer.
func (r *varReader) nullableBytes() []byte {
	n := r.varint()
	if r.bad {
		return nil
	}
	if n == -1 {
		return nil
	}
	if n < -1 || int64(n) > int64(r.remaining()) {
		r.bad = true
		return nil
	}
	b := r.buf[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return b
}
