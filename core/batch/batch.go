// Package batch reads, validates and builds Kafka record batches (magic 2),
// the unit in which Tidemark stores and serves partition data.
//
// A batch is stored and served exactly as the producer sent it: the broker
// only rewrites BaseOffset and PartitionLeaderEpoch, which lie outside the
// CRC, so the CRC a client computed protects the data all the way to the
// consumer. Compressed batches are never decompressed; everything the
// broker needs (record count, last offset delta, timestamps, producer
// fields) is in the 61-byte header.
//
// Layout of the header (big-endian; see PROTOCOL_NOTES.md):
//
//	 0 BaseOffset int64         <- rewritten by the broker, outside the CRC
//	 8 Length int32             (bytes after this field: len(batch) - 12)
//	12 PartitionLeaderEpoch     <- rewritten by the broker, outside the CRC
//	16 Magic int8               (2)
//	17 CRC uint32               (CRC-32C of bytes 21..end)
//	21 Attributes int16         (bits 0-2 codec, 0x08 LogAppendTime,
//	                             0x10 transactional, 0x20 control)
//	23 LastOffsetDelta int32
//	27 FirstTimestamp int64
//	35 MaxTimestamp int64
//	43 ProducerId int64
//	51 ProducerEpoch int16
//	53 BaseSequence int32
//	57 RecordCount int32
//	61 records (uncompressed, or compressed by the codec)
//
// Contracts:
//
//   - Nothing here panics on bytes from outside. Validate (a batch from a
//     client), VerifyStored (a batch read back from a Store), Split and
//     Records return a *core.Error; functions that take a batch the caller
//     has already validated (SetBaseOffset, SetPartitionLeaderEpoch,
//     UpdateCRC) assert that it is at least a header long.
//   - Parsing a header allocates nothing and never copies record data.
//   - Build (build.go) is the one place that encodes records; tests check it
//     against franz-go's kmsg byte for byte.
package batch

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/tidemark/tidemark/core"
)

// Field offsets and sizes of the magic-2 header.
const (
	offBaseOffset           = 0
	offLength               = 8
	offPartitionLeaderEpoch = 12
	offMagic                = 16
	offCRC                  = 17
	offAttributes           = 21
	offLastOffsetDelta      = 23
	offFirstTimestamp       = 27
	offMaxTimestamp         = 35
	offProducerID           = 43
	offProducerEpoch        = 51
	offBaseSequence         = 53
	offRecordCount          = 57

	// HeaderSize is the size of a magic-2 batch header: the smallest batch.
	HeaderSize = 61
	// lengthFieldEnd is where the bytes counted by Length start: a batch's
	// total size is Length + lengthFieldEnd.
	lengthFieldEnd = 12
	// crcStart is the first byte the CRC covers.
	crcStart = offAttributes
)

// Magic is the only record-batch format Tidemark accepts.
const Magic = 2

// NoProducerID, NoProducerEpoch and NoSequence are what a non-idempotent
// producer writes into the producer fields.
const (
	NoProducerID    = -1
	NoProducerEpoch = -1
	NoSequence      = -1
)

// Attribute bits.
const (
	codecMask          = 0x07
	attrLogAppendTime  = 0x08
	attrTransactional  = 0x10
	attrControl        = 0x20
	maxCodec           = CodecZstd
	crcTableCastagnoli = crc32.Castagnoli
)

var castagnoli = crc32.MakeTable(crcTableCastagnoli)

// Codec is the compression codec in a batch's attributes.
type Codec int8

const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	default:
		return fmt.Sprintf("codec(%d)", int8(c))
	}
}

// Header is a parsed magic-2 batch header. It holds only the fixed fields:
// parsing copies 61 bytes' worth of integers and nothing else.
type Header struct {
	BaseOffset           int64
	Length               int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	FirstTimestamp       int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// ParseHeader reads the header fields of b without checking them. ok is
// false when b is shorter than HeaderSize. Use Validate or VerifyStored to
// check a batch; ParseHeader is for bytes already checked.
func ParseHeader(b []byte) (h Header, ok bool) {
	if len(b) < HeaderSize {
		return Header{}, false
	}
	be := binary.BigEndian
	return Header{
		BaseOffset:           int64(be.Uint64(b[offBaseOffset:])),
		Length:               int32(be.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[offPartitionLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		FirstTimestamp:       int64(be.Uint64(b[offFirstTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		RecordCount:          int32(be.Uint32(b[offRecordCount:])),
	}, true
}

// Codec is the compression codec of the records.
func (h Header) Codec() Codec { return Codec(h.Attributes & codecMask) }

// LogAppendTime reports the timestamp-type bit (set only by brokers).
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// Transactional reports the transactional bit.
func (h Header) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control reports the control bit (transaction markers; written only by
// brokers).
func (h Header) Control() bool { return h.Attributes&attrControl != 0 }

// Size is the whole batch's size in bytes, header included.
func (h Header) Size() int { return int(h.Length) + lengthFieldEnd }

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset after the batch's last record.
func (h Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Idempotent reports whether the batch carries a producer id, so that the
// partition checks its epoch and sequence numbers.
func (h Header) Idempotent() bool { return h.ProducerID >= 0 }

// LastSequence is the sequence number of the batch's last record: the base
// sequence plus the last offset delta, wrapping past math.MaxInt32 to 0 as
// Kafka does (DefaultRecordBatch.incrementSequence).
func (h Header) LastSequence() int32 { return IncrementSequence(h.BaseSequence, h.LastOffsetDelta) }

// IncrementSequence returns seq+n with Kafka's wraparound: after
// math.MaxInt32 comes 0. n must be >= 0.
func IncrementSequence(seq, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}

// Validate checks a batch that came from a client and returns its header.
// Every check is deterministic, so replicas re-validating a logged command
// reach the same verdict. The checks and the Kafka code each failure gets:
//
//   - shorter than the magic byte, or a Length field that does not match
//     len(b), or a CRC mismatch: CorruptMessage (retriable: the bytes were
//     damaged on the way);
//   - magic 0 or 1 (the pre-0.11 message sets): UnsupportedForMessageFormat;
//     any other magic but 2: CorruptMessage (not a Kafka format at all);
//   - RecordCount < 1, LastOffsetDelta != RecordCount-1: InvalidRecord;
//   - codec bits above 4 (zstd): InvalidRecord (the CRC matched, so the
//     client meant it: the batch is malformed, not damaged);
//   - the control bit (clients never write transaction markers), the
//     transactional bit (transactions are not supported yet), the
//     LogAppendTime bit (only brokers set it): InvalidRecord;
//   - a producer id below -1, or an idempotent batch (producer id >= 0)
//     with a negative epoch or base sequence: InvalidRecord;
//   - uncompressed batches only: the records must decode, be exactly
//     RecordCount of them with offset deltas 0, 1, 2, ... and fill the batch
//     exactly: InvalidRecord. (Compressed records are not decompressed.)
func Validate(b []byte) (Header, *core.Error) {
	if len(b) <= offMagic {
		return Header{}, core.Errorf(core.CorruptMessage, "record batch of %d bytes is shorter than a batch header", len(b))
	}
	switch magic := int8(b[offMagic]); magic {
	case Magic:
	case 0, 1:
		return Header{}, core.Errorf(core.UnsupportedForMessageFormat, "message format v%d is not supported: produce record batches (magic 2)", magic)
	default:
		return Header{}, core.Errorf(core.CorruptMessage, "unknown record batch magic %d", magic)
	}
	h, err := checkFraming(b, core.CorruptMessage)
	if err != nil {
		return Header{}, err
	}
	if err := checkCRC(b, h, core.CorruptMessage); err != nil {
		return Header{}, err
	}
	if err := checkCounts(h, core.InvalidRecord); err != nil {
		return Header{}, err
	}
	if c := h.Codec(); c > maxCodec {
		return Header{}, core.Errorf(core.InvalidRecord, "unknown compression codec %d", int8(c))
	}
	if h.Control() {
		return Header{}, core.Errorf(core.InvalidRecord, "clients may not write control batches")
	}
	if h.Transactional() {
		return Header{}, core.Errorf(core.InvalidRecord, "transactional batches are not supported yet")
	}
	if h.LogAppendTime() {
		return Header{}, core.Errorf(core.InvalidRecord, "the LogAppendTime attribute is set by brokers, not clients")
	}
	if h.ProducerID < NoProducerID {
		return Header{}, core.Errorf(core.InvalidRecord, "invalid producer id %d", h.ProducerID)
	}
	if h.Idempotent() && h.ProducerEpoch < 0 {
		return Header{}, core.Errorf(core.InvalidRecord, "invalid producer epoch %d for producer id %d", h.ProducerEpoch, h.ProducerID)
	}
	if h.Idempotent() && h.BaseSequence < 0 {
		return Header{}, core.Errorf(core.InvalidRecord, "invalid sequence number %d for producer id %d", h.BaseSequence, h.ProducerID)
	}
	if h.Codec() == CodecNone {
		if err := walkRecords(b, h, nil); err != nil {
			return Header{}, err
		}
	}
	return h, nil
}

// VerifyStored checks a batch read back from a Store: the framing, magic,
// CRC and counts that Validate checked on the way in. Any mismatch means the
// stored bytes changed, and is a KafkaStorageError: never serve corrupted
// data. It is cheaper than Validate (records are not walked) but still reads
// every byte for the CRC.
func VerifyStored(b []byte) (Header, *core.Error) {
	if len(b) <= offMagic || int8(b[offMagic]) != Magic {
		return Header{}, core.Errorf(core.KafkaStorageError, "stored batch is not a magic-2 record batch")
	}
	h, err := checkFraming(b, core.KafkaStorageError)
	if err != nil {
		return Header{}, err
	}
	if err := checkCRC(b, h, core.KafkaStorageError); err != nil {
		return Header{}, err
	}
	if err := checkCounts(h, core.KafkaStorageError); err != nil {
		return Header{}, err
	}
	return h, nil
}

func checkFraming(b []byte, code core.Code) (Header, *core.Error) {
	h, ok := ParseHeader(b)
	if !ok {
		return Header{}, core.Errorf(code, "record batch of %d bytes is shorter than a batch header", len(b))
	}
	if int64(h.Length)+lengthFieldEnd != int64(len(b)) {
		return Header{}, core.Errorf(code, "record batch length field %d does not match its %d bytes", h.Length, len(b))
	}
	return h, nil
}

func checkCRC(b []byte, h Header, code core.Code) *core.Error {
	if got := crc32.Checksum(b[crcStart:], castagnoli); got != h.CRC {
		return core.Errorf(code, "record batch CRC %08x does not match its contents (%08x)", h.CRC, got)
	}
	return nil
}

func checkCounts(h Header, code core.Code) *core.Error {
	if h.RecordCount < 1 {
		return core.Errorf(code, "record batch holds %d records", h.RecordCount)
	}
	if h.LastOffsetDelta != h.RecordCount-1 {
		return core.Errorf(code, "record batch last offset delta %d does not match its %d records", h.LastOffsetDelta, h.RecordCount)
	}
	return nil
}

// Split cuts a produce request's records field into batches by their length
// fields, without validating them (Validate each one). A field that does
// not divide into whole batches is CorruptMessage; an empty one is
// InvalidRecord. The batches alias records.
func Split(records []byte) ([][]byte, *core.Error) {
	if len(records) == 0 {
		return nil, core.Errorf(core.InvalidRecord, "produce carries no record batch")
	}
	var out [][]byte
	for rest := records; len(rest) > 0; {
		if len(rest) < lengthFieldEnd {
			return nil, core.Errorf(core.CorruptMessage, "%d trailing bytes are not a record batch", len(rest))
		}
		n := int64(int32(binary.BigEndian.Uint32(rest[offLength:]))) + lengthFieldEnd
		if n <= offMagic {
			// Too short to hold even the magic byte: no format fits.
			return nil, core.Errorf(core.CorruptMessage, "record batch length field %d is too small", n-lengthFieldEnd)
		}
		if n > int64(len(rest)) {
			return nil, core.Errorf(core.CorruptMessage, "record batch of %d bytes overruns the %d bytes left", n, len(rest))
		}
		out = append(out, rest[:n:n])
		rest = rest[n:]
	}
	return out, nil
}

// Single returns the one batch of a produce request's records field. Since
// Produce v3 a produce carries exactly one magic-2 batch per partition;
// more than one is InvalidRecord, as Kafka answers.
func Single(records []byte) ([]byte, *core.Error) {
	batches, err := Split(records)
	if err != nil {
		return nil, err
	}
	if len(batches) != 1 {
		return nil, core.Errorf(core.InvalidRecord, "produce carries %d record batches: exactly one per partition is allowed", len(batches))
	}
	return batches[0], nil
}

// SetBaseOffset writes the base offset into b. The field lies outside the
// CRC, which stays valid.
func SetBaseOffset(b []byte, offset int64) {
	core.Assert(len(b) >= HeaderSize, "batch header present", "SetBaseOffset on %d bytes", len(b))
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(offset))
}

// AssignedPrefixSize is the length of the batch's leading fields the log
// assigns on append: base offset, batch length and partition leader epoch.
// They lie before the CRC, so rewriting them keeps it valid.
const AssignedPrefixSize = offPartitionLeaderEpoch + 4

// AssignedPrefix is b's first AssignedPrefixSize bytes with the base offset
// and partition leader epoch replaced: the batch as stored is the prefix
// followed by b[AssignedPrefixSize:]. b itself is not written.
func AssignedPrefix(b []byte, baseOffset int64, epoch int32) [AssignedPrefixSize]byte {
	core.Assert(len(b) >= HeaderSize, "batch header present", "AssignedPrefix of %d bytes", len(b))
	var p [AssignedPrefixSize]byte
	copy(p[:], b)
	binary.BigEndian.PutUint64(p[offBaseOffset:], uint64(baseOffset))
	binary.BigEndian.PutUint32(p[offPartitionLeaderEpoch:], uint32(epoch))
	return p
}

// SetPartitionLeaderEpoch writes the partition leader epoch into b. The
// field lies outside the CRC, which stays valid.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	core.Assert(len(b) >= HeaderSize, "batch header present", "SetPartitionLeaderEpoch on %d bytes", len(b))
	binary.BigEndian.PutUint32(b[offPartitionLeaderEpoch:], uint32(epoch))
}

// UpdateCRC recomputes and writes the CRC of b, after a change to a field
// the CRC covers (Build uses it; so do tests that craft invalid batches).
func UpdateCRC(b []byte) {
	core.Assert(len(b) >= HeaderSize, "batch header present", "UpdateCRC on %d bytes", len(b))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[crcStart:], castagnoli))
}
