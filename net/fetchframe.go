package net

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchFrame encodes a Fetch response at a non-flexible version (4-11, the
// ones served) as the segments of one frame, size prefix and correlation
// id included, without copying the records: each partition's record set
// is a segment of its own, between segments of the other fields, and the
// connection's writer sends them all with one writev. Copying the records
// into one frame was the largest cost of serving a consumer after reading
// them (memmove, a quarter of a broker's CPU during a read-back).
//
// The bytes are exactly kmsg's encoding (a test compares them). The
// segments hold resp's RecordBatches: the caller hands those buffers back
// to the pool only after the frame is written. ok is false for a flexible
// version, which is left to kmsg.
func fetchFrame(correlationID int32, resp *kmsg.FetchResponse) (segs [][]byte, ok bool) {
	v := resp.Version
	if v < 4 || v >= 12 {
		return nil, false
	}
	// The fields around the records, all of fixed size once the topic
	// names and aborted transactions are known.
	head := 8 + 4 + 4 // size, correlation id, throttle; topics length
	if v >= 7 {
		head += 2 + 4 // error code, session id
	}
	partition := 4 + 2 + 8 + 8 + 4 + 4 // id, error, high watermark, LSO, aborted length, records length
	if v >= 5 {
		partition += 8 // log start offset
	}
	if v >= 11 {
		partition += 4 // preferred read replica
	}
	records, parts := 0, 0
	for i := range resp.Topics {
		t := &resp.Topics[i]
		head += 2 + len(t.Topic) + 4
		for j := range t.Partitions {
			p := &t.Partitions[j]
			head += partition + 16*len(p.AbortedTransactions)
			records += len(p.RecordBatches)
			if len(p.RecordBatches) > 0 {
				parts++
			}
		}
	}
	b := make([]byte, 0, head)
	segs = make([][]byte, 0, 2*parts+1)
	cut := 0 // where the current head segment starts in b
	b = binary.BigEndian.AppendUint32(b, uint32(head+records-4))
	b = binary.BigEndian.AppendUint32(b, uint32(correlationID))
	b = binary.BigEndian.AppendUint32(b, uint32(resp.ThrottleMillis))
	if v >= 7 {
		b = binary.BigEndian.AppendUint16(b, uint16(resp.ErrorCode))
		b = binary.BigEndian.AppendUint32(b, uint32(resp.SessionID))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(resp.Topics)))
	for i := range resp.Topics {
		t := &resp.Topics[i]
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Topic)))
		b = append(b, t.Topic...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(t.Partitions)))
		for j := range t.Partitions {
			p := &t.Partitions[j]
			b = binary.BigEndian.AppendUint32(b, uint32(p.Partition))
			b = binary.BigEndian.AppendUint16(b, uint16(p.ErrorCode))
			b = binary.BigEndian.AppendUint64(b, uint64(p.HighWatermark))
			b = binary.BigEndian.AppendUint64(b, uint64(p.LastStableOffset))
			if v >= 5 {
				b = binary.BigEndian.AppendUint64(b, uint64(p.LogStartOffset))
			}
			b = appendLength(b, len(p.AbortedTransactions), p.AbortedTransactions == nil)
			for _, a := range p.AbortedTransactions {
				b = binary.BigEndian.AppendUint64(b, uint64(a.ProducerID))
				b = binary.BigEndian.AppendUint64(b, uint64(a.FirstOffset))
			}
			if v >= 11 {
				b = binary.BigEndian.AppendUint32(b, uint32(p.PreferredReadReplica))
			}
			b = appendLength(b, len(p.RecordBatches), p.RecordBatches == nil)
			if len(p.RecordBatches) > 0 {
				segs = append(segs, b[cut:], p.RecordBatches)
				cut = len(b)
			}
		}
	}
	if len(b) != head {
		panic("invariant violated: fetch frame head of unexpected size")
	}
	if cut < len(b) {
		segs = append(segs, b[cut:])
	}
	return segs, true
}

// appendLength appends a non-flexible array or bytes length: -1 for null.
func appendLength(b []byte, n int, null bool) []byte {
	if null {
		n = -1
	}
	return binary.BigEndian.AppendUint32(b, uint32(int32(n)))
}
