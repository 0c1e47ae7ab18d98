package partition

import (
	"errors"
	"fmt"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
)

// FetchResult answers Fetch: whole stored batches, concatenated, and the
// partition's offsets at the time of the read.
type FetchResult struct {
	// Records is the concatenated batches, copied out of the Store (nil
	// when there is nothing to return). The first batch contains the
	// fetch offset and may start before it.
	Records          []byte
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	Err              *core.Error
}

// Fetch reads whole batches from offset up to maxBytes, never past the high
// watermark:
//
//   - offset below the log start or above the log end offset:
//     OffsetOutOfRange (offsets are still filled in, for the client to
//     reset);
//   - offset at the high watermark (or maxBytes <= 0): no records, no error;
//   - otherwise the batch containing offset and the batches after it while
//     the total stays within maxBytes; the first batch is returned whole
//     even when it alone exceeds maxBytes, so that a consumer always makes
//     progress (KIP-74);
//   - a stored batch failing its CRC or header checks, or a Store read
//     error: KafkaStorageError and no records. Corrupted data is never
//     served.
func (l *Log) Fetch(offset int64, maxBytes int32) FetchResult {
	return l.FetchInto(offset, maxBytes, nil)
}

// FetchInto is Fetch with the records appended to buf[:0]: they alias buf
// when they fit in its capacity, so a runtime can reuse one buffer's memory
// for fetch after fetch. Log keeps no reference to buf or to the records.
func (l *Log) FetchInto(offset int64, maxBytes int32, buf []byte) FetchResult {
	res := FetchResult{
		HighWatermark:    l.highWatermark,
		LastStableOffset: l.highWatermark,
		LogStartOffset:   l.logStartOffset,
	}
	if offset < l.logStartOffset || offset > l.logEndOffset {
		res.Err = core.Errorf(core.OffsetOutOfRange, "fetch offset %d outside [log start %d, log end %d]",
			offset, l.logStartOffset, l.logEndOffset)
		return res
	}
	if offset >= l.highWatermark || maxBytes <= 0 {
		return res
	}
	var (
		out  = buf[:0]
		next = int64(-1) // the base the next batch must have
		ferr *core.Error
	)
	err := l.store.Scan(offset, func(base int64, b []byte) bool {
		if base >= l.highWatermark {
			return false
		}
		h, verr := verifyStoredAt(base, b)
		switch {
		case verr != nil:
			ferr = verr
			return false
		case next < 0 && !(base <= offset && offset <= h.LastOffset()):
			ferr = core.Errorf(core.KafkaStorageError, "no stored batch contains offset %d (found [%d, %d])", offset, base, h.LastOffset())
			return false
		case next >= 0 && base != next:
			ferr = core.Errorf(core.KafkaStorageError, "stored batches not contiguous: %d follows a batch ending before %d", base, next)
			return false
		case h.LastOffset() >= l.highWatermark:
			// Nothing past the high watermark is ever served. The state
			// keeps batches within it, so this is the Store disagreeing
			// with the state: bytes from disk, answered, not asserted.
			ferr = core.Errorf(core.KafkaStorageError, "stored batch [%d, %d] reaches past the high watermark %d", base, h.LastOffset(), l.highWatermark)
			return false
		}
		if len(out) > 0 && int64(len(out))+int64(len(b)) > int64(maxBytes) {
			return false
		}
		out = appendBatch(out, b, int(maxBytes))
		next = h.NextOffset()
		return int64(len(out)) < int64(maxBytes)
	})
	switch {
	case err != nil:
		res.Err = core.Errorf(core.KafkaStorageError, "read partition at offset %d: %v", offset, err)
	case ferr != nil:
		res.Err = ferr
	case len(out) == 0:
		res.Err = core.Errorf(core.KafkaStorageError, "no stored batch contains offset %d below the high watermark %d", offset, l.highWatermark)
	default:
		res.Records = out
	}
	return res
}

// appendBatch appends b to out, at least doubling out's capacity when it
// must grow, up to maxBytes (or the size needed, if larger). append grows a
// large slice by a quarter at a time, so collecting a fetch of 8 MiB from
// 1 KiB batches copied it about five times over and made the copy most of
// a broker's CPU while serving consumers; doubling copies it at most twice.
func appendBatch(out, b []byte, maxBytes int) []byte {
	if need := len(out) + len(b); need > cap(out) {
		grown := make([]byte, len(out), min(max(2*cap(out), need), max(need, maxBytes)))
		copy(grown, out)
		out = grown
	}
	return append(out, b...)
}

// Special ListOffsets timestamps (Kafka's ListOffsetsRequest).
const (
	LatestTimestamp   = -1
	EarliestTimestamp = -2
)

// ListOffsetsResult answers ListOffsets. For a timestamp lookup with no
// match, Offset and TimestampMs are both -1 with no error (as Kafka).
type ListOffsetsResult struct {
	Offset      int64
	TimestampMs int64
	Err         *core.Error
}

// ListOffsets answers Kafka's ListOffsets for one partition:
//
//   - EarliestTimestamp (-2): the log start offset, timestamp -1;
//   - LatestTimestamp (-1): the high watermark, timestamp -1;
//   - a timestamp >= 0: the first batch (from the log start, below the high
//     watermark) whose MaxTimestamp >= timestamp, answered with
//     max(its base offset, log start) and its MaxTimestamp. This is batch
//     granularity, since compressed batches are not decompressed: the
//     offset may be earlier than Kafka's (the first record with a
//     timestamp >= the target), so a consumer seeking by time may see a
//     few earlier records of that batch, but never misses one. No such
//     batch: (-1, -1);
//   - any other negative timestamp (MAX_TIMESTAMP and later KIPs, which
//     need ListOffsets v7+): InvalidRequest.
//
// A timestamp lookup scans batch headers from the log start: it is linear
// in the partition's batch count (there is no time index yet).
func (l *Log) ListOffsets(timestampMs int64) ListOffsetsResult {
	switch {
	case timestampMs == EarliestTimestamp:
		return ListOffsetsResult{Offset: l.logStartOffset, TimestampMs: -1}
	case timestampMs == LatestTimestamp:
		return ListOffsetsResult{Offset: l.highWatermark, TimestampMs: -1}
	case timestampMs < 0:
		return ListOffsetsResult{Offset: -1, TimestampMs: -1,
			Err: core.Errorf(core.InvalidRequest, "list offsets by timestamp %d is not supported", timestampMs)}
	}
	res := ListOffsetsResult{Offset: -1, TimestampMs: -1}
	if l.logStartOffset == l.highWatermark {
		return res
	}
	var ferr *core.Error
	err := l.store.Scan(l.logStartOffset, func(base int64, b []byte) bool {
		if base >= l.highWatermark {
			return false
		}
		h, verr := verifyStoredAt(base, b)
		if verr != nil {
			ferr = verr
			return false
		}
		if h.MaxTimestamp >= timestampMs {
			res = ListOffsetsResult{Offset: max(base, l.logStartOffset), TimestampMs: h.MaxTimestamp}
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return ListOffsetsResult{Offset: -1, TimestampMs: -1,
			Err: core.Errorf(core.KafkaStorageError, "read partition for timestamp %d: %v", timestampMs, err)}
	case ferr != nil:
		return ListOffsetsResult{Offset: -1, TimestampMs: -1, Err: ferr}
	}
	return res
}

// StateHash summarises the whole state: the offsets, the stored size, the
// producer table (by increasing id) and the chain hash, which folds in the
// base offset, leader epoch, CRC and size of every batch ever appended.
// Replicas that applied the same commands have equal hashes; equal hashes
// mean equal logs (up to FNV collisions: this is a check, not a proof).
func (l *Log) StateHash() uint64 {
	h := uint64(fnvOffset)
	for _, v := range []uint64{
		stateHashVersion,
		uint64(l.logStartOffset), uint64(l.logEndOffset), uint64(l.highWatermark),
		uint64(l.storedBytes), uint64(l.batchCount), l.chainHash,
		uint64(len(l.producers)),
	} {
		h = fnvUint64(h, v)
	}
	for _, id := range l.producerIDs() {
		p := l.producers[id]
		h = fnvUint64(h, uint64(id))
		h = fnvUint64(h, uint64(p.epoch))
		h = fnvUint64(h, uint64(p.lastTimestampMs))
		h = fnvUint64(h, uint64(len(p.batches)))
		for _, b := range p.batches {
			h = fnvUint64(h, uint64(b.FirstSeq))
			h = fnvUint64(h, uint64(b.LastSeq))
			h = fnvUint64(h, uint64(b.BaseOffset))
			h = fnvUint64(h, uint64(b.LastOffset))
		}
	}
	return h
}

const stateHashVersion = 1

// FNV-1a 64, over the big-endian bytes of each value.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvUint64(h, v uint64) uint64 {
	for i := 56; i >= 0; i -= 8 {
		h ^= (v >> uint(i)) & 0xff
		h *= fnvPrime
	}
	return h
}

// chainAppend folds one appended batch into the chain hash.
func chainAppend(prev uint64, base int64, leaderEpoch int32, crc uint32, size int) uint64 {
	h := uint64(fnvOffset)
	h = fnvUint64(h, prev)
	h = fnvUint64(h, uint64(base))
	h = fnvUint64(h, uint64(uint32(leaderEpoch)))
	h = fnvUint64(h, uint64(crc))
	h = fnvUint64(h, uint64(size))
	return h
}

// CheckStore failures come in three kinds: a read error; errStoreCorrupt,
// stored bytes that fail their own checks (CRC, framing, base offset: the
// disk changed them); and errStoreMismatch, well-formed batches that
// disagree with the state (count, size, contiguity: a bug in core or in
// the runtime's persistence).
var (
	errStoreCorrupt  = errors.New("stored batch corrupted")
	errStoreMismatch = errors.New("store does not match the partition state")
)

// CheckStore rescans the whole Store and checks it against the Log: every
// batch passes VerifyStored under its own base offset, batches are
// contiguous, the first contains the log start offset, the last ends at the
// log end offset, and the count and bytes match. It costs a full read: the
// simulator and tests call it (Apply and Open do under
// core.ExpensiveChecks, and panic only when well-formed batches disagree
// with the state, not on corrupted bytes or read errors).
func (l *Log) CheckStore() error {
	return checkStore(l.store, l.Meta())
}

func checkStore(s Store, m Meta) error {
	c := batchSequence{meta: m}
	var problem error
	err := s.Scan(scanFromOldest, func(base int64, b []byte) bool {
		_, problem = c.add(base, b)
		return problem == nil
	})
	if err != nil {
		return fmt.Errorf("partition: rescan store: %w", err)
	}
	if problem == nil {
		problem = c.finish()
	}
	var corrupt *core.Error
	switch {
	case problem == nil:
		return nil
	case errors.As(problem, &corrupt):
		return fmt.Errorf("%w: %v", errStoreCorrupt, problem)
	default:
		return fmt.Errorf("%w: %v", errStoreMismatch, problem)
	}
}

// batchSequence checks a run of stored batches, oldest first, against the
// Meta that describes them: each passes VerifyStored under its own base
// offset, they are contiguous, the first contains the log start offset,
// the last ends at the log end offset, and count and bytes match.
type batchSequence struct {
	meta        Meta
	count, size int64
	next        int64 // the base offset the next batch must have; 0 before the first
}

func (c *batchSequence) add(base int64, b []byte) (batch.Header, error) {
	h, verr := verifyStoredAt(base, b)
	switch {
	case verr != nil:
		return batch.Header{}, verr
	case c.count == 0 && !(base <= c.meta.LogStartOffset && c.meta.LogStartOffset <= h.LastOffset()):
		return batch.Header{}, fmt.Errorf("first stored batch [%d, %d] does not contain log start %d", base, h.LastOffset(), c.meta.LogStartOffset)
	case c.count > 0 && base != c.next:
		return batch.Header{}, fmt.Errorf("batch at %d follows a batch ending before %d", base, c.next)
	case h.LastOffset() >= c.meta.LogEndOffset:
		return batch.Header{}, fmt.Errorf("batch [%d, %d] reaches past the log end %d", base, h.LastOffset(), c.meta.LogEndOffset)
	case c.count >= c.meta.BatchCount:
		return batch.Header{}, fmt.Errorf("more than the %d batches the state describes", c.meta.BatchCount)
	}
	c.count++
	c.size += int64(len(b))
	c.next = h.NextOffset()
	return h, nil
}

func (c *batchSequence) finish() error {
	if c.count > 0 && c.next != c.meta.LogEndOffset {
		return fmt.Errorf("last stored batch ends before %d, log end is %d", c.next, c.meta.LogEndOffset)
	}
	if c.count != c.meta.BatchCount || c.size != c.meta.StoredBytes {
		return fmt.Errorf("%d batches in %d bytes, state says %d in %d", c.count, c.size, c.meta.BatchCount, c.meta.StoredBytes)
	}
	return nil
}

// assertStore runs CheckStore as an invariant: a mismatch panics. A read
// error or corrupted bytes are not core's invariants (the simulator injects
// disk corruption on purpose): they are left for the next real read to
// report as KafkaStorageError.
func (l *Log) assertStore() {
	err := l.CheckStore()
	core.Assert(err == nil || !errors.Is(err, errStoreMismatch), "store matches state", "%v", err)
}

// RetainDue reports whether applying c now would change anything: delete
// a batch or forget a producer. It changes nothing. The leader asks before
// proposing a Retain, so that a retention pass over many idle partitions
// costs a read each instead of a Raft entry each; applyRetain itself stays
// the only place that decides, and a Retain that is not due is harmless.
func (l *Log) RetainDue(c Retain) (bool, error) {
	plan, err := l.planRetain(c)
	if err != nil {
		return false, err
	}
	if plan.batches > 0 {
		return true, nil
	}
	for _, p := range l.producers {
		if l.producerExpired(c.NowMs, p) {
			return true, nil
		}
	}
	return false, nil
}
