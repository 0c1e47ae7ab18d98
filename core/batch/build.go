package batch

import (
	"encoding/binary"
)

// BuildSpec describes a batch for Build. The zero value (plus some Records)
// is what a plain, non-idempotent producer sends: base offset 0, leader
// epoch 0, no compression, no producer id.
type BuildSpec struct {
	// BaseOffset and PartitionLeaderEpoch are written as given; producers
	// send 0 and -1, and the broker overwrites both.
	BaseOffset           int64
	PartitionLeaderEpoch int32
	// Attributes are written as given. Build never compresses, so setting
	// codec bits yields a batch whose records do not match its codec: that
	// is for tests of validation, as are the control, transactional and
	// LogAppendTime bits.
	Attributes int16
	// Producer carries the idempotence fields; nil writes NoProducerID,
	// NoProducerEpoch and NoSequence.
	Producer *Producer
	// Records are encoded in order with offset deltas 0, 1, 2, ...
	// FirstTimestamp is the first record's timestamp and MaxTimestamp the
	// largest (both -1 when there are no records, which makes a batch
	// Validate rejects).
	Records []Record
}

// Producer is the idempotent producer's identity and the sequence number of
// the batch's first record.
type Producer struct {
	ID           int64
	Epoch        int16
	BaseSequence int32
}

// Build encodes a valid, uncompressed magic-2 batch from spec, with real
// record encoding (zigzag varint lengths, timestamp and offset deltas,
// null-aware keys, values and headers) and a correct CRC. Its output agrees
// byte for byte with franz-go's kmsg.RecordBatch encoding (build_test.go).
// Build is not on any hot path: it serves tests, the simulator's clients
// and tools.
func Build(spec BuildSpec) []byte {
	firstTs, maxTs := int64(-1), int64(-1)
	for i, r := range spec.Records {
		if i == 0 {
			firstTs, maxTs = r.TimestampMs, r.TimestampMs
		}
		maxTs = max(maxTs, r.TimestampMs)
	}
	pid, epoch, seq := int64(NoProducerID), int16(NoProducerEpoch), int32(NoSequence)
	if p := spec.Producer; p != nil {
		pid, epoch, seq = p.ID, p.Epoch, p.BaseSequence
	}

	b := make([]byte, HeaderSize, HeaderSize+16*len(spec.Records))
	be := binary.BigEndian
	be.PutUint64(b[offBaseOffset:], uint64(spec.BaseOffset))
	be.PutUint32(b[offPartitionLeaderEpoch:], uint32(spec.PartitionLeaderEpoch))
	b[offMagic] = Magic
	be.PutUint16(b[offAttributes:], uint16(spec.Attributes))
	be.PutUint32(b[offLastOffsetDelta:], uint32(int32(len(spec.Records)-1)))
	be.PutUint64(b[offFirstTimestamp:], uint64(firstTs))
	be.PutUint64(b[offMaxTimestamp:], uint64(maxTs))
	be.PutUint64(b[offProducerID:], uint64(pid))
	be.PutUint16(b[offProducerEpoch:], uint16(epoch))
	be.PutUint32(b[offBaseSequence:], uint32(seq))
	be.PutUint32(b[offRecordCount:], uint32(int32(len(spec.Records))))

	var body []byte
	for i, r := range spec.Records {
		body = appendRecordBody(body[:0], r, r.TimestampMs-firstTs, int32(i))
		b = appendVarint(b, int32(len(body)))
		b = append(b, body...)
	}
	be.PutUint32(b[offLength:], uint32(int32(len(b)-lengthFieldEnd)))
	UpdateCRC(b)
	return b
}

// appendRecordBody encodes everything of a record after its length prefix.
func appendRecordBody(dst []byte, r Record, tsDelta int64, offsetDelta int32) []byte {
	dst = append(dst, 0) // attributes: unused
	dst = appendVarlong(dst, tsDelta)
	dst = appendVarint(dst, offsetDelta)
	dst = appendNullableBytes(dst, r.Key)
	dst = appendNullableBytes(dst, r.Value)
	dst = appendVarint(dst, int32(len(r.Headers)))
	for _, h := range r.Headers {
		dst = appendVarint(dst, int32(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendNullableBytes(dst, h.Value)
	}
	return dst
}

func appendNullableBytes(dst, b []byte) []byte {
	if b == nil {
		return appendVarint(dst, -1)
	}
	dst = appendVarint(dst, int32(len(b)))
	return append(dst, b...)
}

func appendVarint(dst []byte, v int32) []byte {
	return appendUvarint(dst, uint64(uint32(v<<1^v>>31)))
}

func appendVarlong(dst []byte, v int64) []byte {
	return appendUvarint(dst, uint64(v<<1^v>>63))
}

func appendUvarint(dst []byte, u uint64) []byte {
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}
