package partition

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
)

// Log is one partition's replicated state machine. Its record batches live
// only in the Store; Log keeps the scalars (offsets, stored size, a chained
// hash) and the idempotent-producer table.
//
// A Log is used from one goroutine at a time (the runtime's apply loop);
// queries read the locally applied state.
type Log struct {
	cfg   Config
	store Store

	logStartOffset int64
	logEndOffset   int64
	// highWatermark: Raft commits a command before any replica applies it,
	// so everything applied is committed and highWatermark == logEndOffset
	// after every command. Both are kept, and reads are bounded by the
	// high watermark, so that a later last-stable offset (transactions) or
	// a planted bug shows up as a difference instead of hiding in one
	// variable.
	highWatermark int64
	storedBytes   int64
	batchCount    int64
	chainHash     uint64

	producers map[int64]*producerState
}

type producerState struct {
	epoch           int16
	lastTimestampMs int64
	// batches: oldest first, 1..MaxCachedBatches, consecutive sequences.
	batches []ProducerBatch
}

// New returns the Log of an empty partition over s, which must be empty.
func New(cfg Config, s Store) *Log {
	return Open(cfg, s, Meta{})
}

// Open returns the Log whose non-Store state is m, over s, which must hold
// exactly the batches m describes (a runtime that persisted m with EncodeMeta
// in the same write as its Store reopens this way). m must be valid (as
// DecodeMeta and Log.Meta return it); Open asserts it. Under
// core.ExpensiveChecks, Open rescans s against m.
func Open(cfg Config, s Store, m Meta) *Log {
	cfg.check()
	err := validateMeta(m)
	core.Assert(err == nil, "meta valid", "Open: %v", err)
	l := &Log{
		cfg:            cfg,
		store:          s,
		logStartOffset: m.LogStartOffset,
		logEndOffset:   m.LogEndOffset,
		highWatermark:  m.HighWatermark,
		storedBytes:    m.StoredBytes,
		batchCount:     m.BatchCount,
		chainHash:      m.ChainHash,
		producers:      make(map[int64]*producerState, len(m.Producers)),
	}
	for _, p := range m.Producers {
		l.producers[p.ID] = &producerState{
			epoch:           p.Epoch,
			lastTimestampMs: p.LastTimestampMs,
			batches:         slices.Clone(p.Batches),
		}
	}
	if core.ExpensiveChecks {
		l.assertStore()
	}
	return l
}

// Meta returns a deep copy of the Log's non-Store state.
func (l *Log) Meta() Meta {
	m := Meta{
		LogStartOffset: l.logStartOffset,
		LogEndOffset:   l.logEndOffset,
		HighWatermark:  l.highWatermark,
		StoredBytes:    l.storedBytes,
		BatchCount:     l.batchCount,
		ChainHash:      l.chainHash,
	}
	if len(l.producers) > 0 {
		m.Producers = make([]ProducerMeta, 0, len(l.producers))
		for _, id := range l.producerIDs() {
			p := l.producers[id]
			m.Producers = append(m.Producers, ProducerMeta{
				ID:              id,
				Epoch:           p.epoch,
				LastTimestampMs: p.lastTimestampMs,
				Batches:         slices.Clone(p.batches),
			})
		}
	}
	return m
}

// producerIDs returns the producer ids in increasing order: the only order
// in which the producer table may reach an encoding, a hash or a decision.
func (l *Log) producerIDs() []int64 {
	return slices.Sorted(maps.Keys(l.producers))
}

// Offsets are a partition's offsets as a fetch or ListOffsets reports them.
type Offsets struct {
	LogStartOffset int64
	HighWatermark  int64
	// LastStableOffset equals HighWatermark: there are no transactions yet.
	LastStableOffset int64
	LogEndOffset     int64
}

// Offsets returns the current offsets.
func (l *Log) Offsets() Offsets {
	return Offsets{
		LogStartOffset:   l.logStartOffset,
		HighWatermark:    l.highWatermark,
		LastStableOffset: l.highWatermark,
		LogEndOffset:     l.logEndOffset,
	}
}

// Apply applies one committed command and returns its result. The error is
// only for Store failures (an I/O error, or stored bytes that fail their
// checks): the runtime must treat it as fatal to the replica, since the
// command may be half applied to the Store. Bad input (a malformed batch,
// a sequence gap, an offset out of range) is answered in the Result's Err
// and changes no state at all. Apply is deterministic: replicas applying
// the same commands return the same results and reach the same StateHash.
func (l *Log) Apply(cmd Command) (Result, error) {
	before := l.Offsets()
	var (
		res Result
		err error
	)
	switch c := cmd.(type) {
	case Produce:
		res, err = l.applyProduce(c)
	case DeleteRecords:
		res, err = l.applyDeleteRecords(c)
	case Retain:
		res, err = l.applyRetain(c)
	default:
		panic(fmt.Sprintf("partition: Apply of unknown command %T", cmd))
	}
	if err != nil {
		return nil, err
	}
	l.assertTransition(before)
	if core.ExpensiveChecks {
		l.assertStore()
	}
	return res, nil
}

// applyProduce validates the batch, checks the producer's sequence, and
// appends. Every check happens before the first state change.
func (l *Log) applyProduce(c Produce) (Result, error) {
	reject := func(err *core.Error) (Result, error) {
		return ProduceResult{BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: l.logStartOffset, Err: err}, nil
	}
	// max.message.bytes 0 is a valid topic config (Kafka's floor) under
	// which every batch is too large: the size check below rejects it with
	// MessageTooLarge, as Kafka does. Only a negative value is a proposer
	// bug.
	if c.MaxMessageBytes < 0 {
		return reject(core.Errorf(core.InvalidRequest, "produce proposed with negative max.message.bytes (%d)", c.MaxMessageBytes))
	}
	b, verr := batch.Single(c.Records)
	if verr != nil {
		return reject(verr)
	}
	h, verr := batch.Validate(b)
	if verr != nil {
		return reject(verr)
	}
	if len(b) > int(c.MaxMessageBytes) {
		return reject(core.Errorf(core.MessageTooLarge, "record batch of %d bytes exceeds max.message.bytes %d", len(b), c.MaxMessageBytes))
	}
	count := int64(h.RecordCount)
	if l.logEndOffset > math.MaxInt64-count {
		return reject(core.Errorf(core.InvalidRecord, "%d records would overflow the partition's offsets", count))
	}
	if h.Idempotent() {
		dupBase, dup, serr := l.checkSequence(h)
		if serr != nil {
			return reject(serr)
		}
		if dup {
			// Kafka answers a retried batch with its original offset and no
			// error, and appends nothing.
			return ProduceResult{BaseOffset: dupBase, LogAppendTimeMs: -1, LogStartOffset: l.logStartOffset}, nil
		}
	}

	oldLogEnd := l.logEndOffset
	base := oldLogEnd
	// c.Records may alias the runtime's Raft entry: never write into it.
	// The store copies the assigned prefix and the rest into place, so the
	// batch is copied once, by the store.
	prefix := batch.AssignedPrefix(b, base, c.LeaderEpoch)
	if err := l.store.Append(base, prefix[:], b[len(prefix):]); err != nil {
		return nil, fmt.Errorf("partition: append batch at offset %d: %w", base, err)
	}

	l.logEndOffset = base + count
	l.highWatermark = l.logEndOffset
	l.storedBytes += int64(len(b))
	l.batchCount++
	l.chainHash = chainAppend(l.chainHash, base, c.LeaderEpoch, h.CRC, len(b))
	if h.Idempotent() {
		l.recordProducer(h, base, c.NowMs)
	}
	core.Assert(base == oldLogEnd && l.logEndOffset == oldLogEnd+count, "offsets dense",
		"batch of %d records at %d appended to leo %d, leo now %d", count, base, oldLogEnd, l.logEndOffset)
	return ProduceResult{BaseOffset: base, LogAppendTimeMs: -1, LogStartOffset: l.logStartOffset}, nil
}

// checkSequence applies Kafka's idempotence rules (ProducerStateManager) to
// a batch from producer h.ProducerID:
//
//   - unknown producer, or a newer epoch: accepted at any sequence;
//   - an older epoch: InvalidProducerEpoch;
//   - same epoch and the same (first, last) sequence as one of the cached
//     batches: a duplicate, answered with that batch's base offset;
//   - same epoch otherwise: the first sequence must follow the last cached
//     batch's last sequence (wrapping after math.MaxInt32 to 0), else
//     OutOfOrderSequenceNumber.
func (l *Log) checkSequence(h batch.Header) (dupBase int64, dup bool, err *core.Error) {
	p := l.producers[h.ProducerID]
	if p == nil || h.ProducerEpoch > p.epoch {
		return 0, false, nil
	}
	if h.ProducerEpoch < p.epoch {
		return 0, false, core.Errorf(core.InvalidProducerEpoch, "producer %d epoch %d is older than its current epoch %d",
			h.ProducerID, h.ProducerEpoch, p.epoch)
	}
	first, last := h.BaseSequence, h.LastSequence()
	for _, cb := range p.batches {
		if cb.FirstSeq == first && cb.LastSeq == last {
			return cb.BaseOffset, true, nil
		}
	}
	want := batch.IncrementSequence(p.batches[len(p.batches)-1].LastSeq, 1)
	if first != want {
		return 0, false, core.Errorf(core.OutOfOrderSequenceNumber, "producer %d epoch %d: expected sequence %d, got %d",
			h.ProducerID, h.ProducerEpoch, want, first)
	}
	return 0, false, nil
}

// recordProducer remembers an appended idempotent batch.
func (l *Log) recordProducer(h batch.Header, base int64, nowMs int64) {
	p := l.producers[h.ProducerID]
	if p == nil {
		for len(l.producers) >= l.cfg.MaxProducerIDs {
			l.evictOldestProducer()
		}
		p = &producerState{epoch: h.ProducerEpoch}
		l.producers[h.ProducerID] = p
		core.Assert(len(l.producers) <= l.cfg.MaxProducerIDs, "producer table bounded",
			"%d producers, max %d", len(l.producers), l.cfg.MaxProducerIDs)
	}
	if h.ProducerEpoch != p.epoch {
		p.epoch = h.ProducerEpoch
		p.batches = p.batches[:0]
	}
	entry := ProducerBatch{
		FirstSeq:   h.BaseSequence,
		LastSeq:    h.LastSequence(),
		BaseOffset: base,
		LastOffset: base + int64(h.LastOffsetDelta),
	}
	if n := len(p.batches); n > 0 {
		prev := p.batches[n-1]
		core.Assert(entry.FirstSeq == batch.IncrementSequence(prev.LastSeq, 1), "producer sequences consecutive",
			"producer %d: batch at sequence %d after %d", h.ProducerID, entry.FirstSeq, prev.LastSeq)
	}
	if len(p.batches) == MaxCachedBatches {
		p.batches = append(p.batches[:0], p.batches[1:]...)
	}
	p.batches = append(p.batches, entry)
	p.lastTimestampMs = nowMs
}

// evictOldestProducer removes the producer with the smallest
// lastTimestampMs, ties broken by the smaller id: a total order, so the
// choice does not depend on map iteration.
func (l *Log) evictOldestProducer() {
	victim, found := int64(0), false
	for id, p := range l.producers {
		if !found || p.lastTimestampMs < l.producers[victim].lastTimestampMs ||
			(p.lastTimestampMs == l.producers[victim].lastTimestampMs && id < victim) {
			victim, found = id, true
		}
	}
	core.Assert(found, "eviction has a victim", "evicting from an empty producer table")
	delete(l.producers, victim)
}

// applyDeleteRecords moves the log start offset to the requested offset
// and deletes the whole batches that end before it.
func (l *Log) applyDeleteRecords(c DeleteRecords) (Result, error) {
	offset := c.Offset
	if offset == -1 {
		offset = l.highWatermark
	}
	if offset < l.logStartOffset || offset > l.highWatermark {
		return DeleteRecordsResult{LowWatermark: -1, Err: core.Errorf(core.OffsetOutOfRange,
			"delete records before offset %d: outside [log start %d, high watermark %d]", c.Offset, l.logStartOffset, l.highWatermark)}, nil
	}
	if offset > l.logStartOffset {
		plan, err := l.planDeletion(func(h batch.Header, _, _ int64) bool { return h.LastOffset() < offset })
		if err != nil {
			return nil, err
		}
		if err := l.deletePrefix(plan); err != nil {
			return nil, err
		}
		// The log start may fall inside the first kept batch: fetches
		// still return that whole batch, and clients skip the records
		// before the offset they asked for.
		l.logStartOffset = offset
	}
	return DeleteRecordsResult{LowWatermark: l.logStartOffset}, nil
}

// applyRetain deletes the prefix of batches that retention no longer
// allows, then expires idle producers.
//
//   - time (RetentionMs >= 0): batches whose MaxTimestamp is below
//     NowMs-RetentionMs, from the oldest up to the first batch that is
//     kept (a batch with a later timestamp shields the ones after it, as a
//     Kafka segment does);
//   - bytes (RetentionBytes >= 0): the oldest batch while the bytes that
//     would remain without it are still >= RetentionBytes. Size retention
//     never takes the partition below RetentionBytes: it may stay above by
//     less than its oldest batch, and with RetentionBytes > 0 the newest
//     batch is never deleted for size, however large. This is Kafka's rule
//     (UnifiedLog.deleteRetentionSizeBreachedSegments) with a batch in
//     place of a segment.
//
// The union of the two prefixes is deleted. (The bytes condition depends
// only on how many of the oldest batches go, and gets no easier as more
// go, so it too marks a prefix.)
func (l *Log) applyRetain(c Retain) (Result, error) {
	plan, err := l.planRetain(c)
	if err != nil {
		return nil, err
	}
	if err := l.deletePrefix(plan); err != nil {
		return nil, err
	}
	if plan.batches > 0 {
		l.logStartOffset = max(l.logStartOffset, plan.keepFrom)
	}
	expired := int64(0)
	for id, p := range l.producers {
		// Deleting during range is safe in Go; the set deleted does not
		// depend on the iteration order.
		if l.producerExpired(c.NowMs, p) {
			delete(l.producers, id)
			expired++
		}
	}
	return RetainResult{
		LogStartOffset:   l.logStartOffset,
		DeletedBatches:   plan.batches,
		DeletedBytes:     plan.bytes,
		ExpiredProducers: expired,
	}, nil
}

// planRetain plans the deletion a Retain makes (see applyRetain).
func (l *Log) planRetain(c Retain) (deletion, error) {
	cutoff := subSaturating(c.NowMs, c.RetentionMs)
	timePrefix := c.RetentionMs >= 0
	return l.planDeletion(func(h batch.Header, sizeBytes, deletedBytes int64) bool {
		timePrefix = timePrefix && h.MaxTimestamp < cutoff
		remainingBytes := l.storedBytes - deletedBytes - sizeBytes
		bytesPrefix := c.RetentionBytes >= 0 && remainingBytes >= c.RetentionBytes
		return timePrefix || bytesPrefix
	})
}

// producerExpired reports whether a Retain at nowMs forgets producer p.
func (l *Log) producerExpired(nowMs int64, p *producerState) bool {
	return subSaturating(nowMs, p.lastTimestampMs) >= l.cfg.ProducerIDExpirationMs
}

// subSaturating is a-b clamped to the int64 range, so that hostile or
// skewed times cannot wrap around.
func subSaturating(a, b int64) int64 {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		if b > 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return d
}

// scanFromOldest is the Scan start that reaches the oldest stored batch:
// offsets are never negative, so the batch Scan starts with is the one at
// offset 0 or, when there is none, the first one. (Not math.MinInt64: a
// Store keyed by the offset's unsigned big-endian bytes, like raftsm's,
// would misplace a negative start.)
const scanFromOldest = 0

// deletion is a planned deletion of the oldest stored batches.
type deletion struct {
	batches int64
	bytes   int64
	// keepFrom is the base offset of the first batch kept, or the log end
	// offset when every batch goes.
	keepFrom int64
}

// planDeletion walks the stored batches from the oldest and counts the
// prefix for which del returns true (del sees each header, that batch's
// size, and the bytes already planned for deletion). It changes nothing.
func (l *Log) planDeletion(del func(h batch.Header, sizeBytes, deletedBytes int64) bool) (deletion, error) {
	plan := deletion{keepFrom: l.logEndOffset}
	var serr error
	err := l.store.Scan(scanFromOldest, func(base int64, b []byte) bool {
		h, verr := verifyStoredAt(base, b)
		if verr != nil {
			serr = verr
			return false
		}
		if !del(h, int64(len(b)), plan.bytes) {
			plan.keepFrom = base
			return false
		}
		plan.batches++
		plan.bytes += int64(len(b))
		return true
	})
	if err != nil {
		return deletion{}, fmt.Errorf("partition: scan for deletion: %w", err)
	}
	if serr != nil {
		return deletion{}, fmt.Errorf("partition: scan for deletion: %w", serr)
	}
	return plan, nil
}

// deletePrefix carries out a planned deletion.
func (l *Log) deletePrefix(plan deletion) error {
	if plan.batches == 0 {
		return nil
	}
	if err := l.store.DeleteBefore(plan.keepFrom); err != nil {
		return fmt.Errorf("partition: delete batches before %d: %w", plan.keepFrom, err)
	}
	l.batchCount -= plan.batches
	l.storedBytes -= plan.bytes
	return nil
}

// verifyStoredAt checks a batch read back from the Store under key base.
func verifyStoredAt(base int64, b []byte) (batch.Header, *core.Error) {
	h, err := batch.VerifyStored(b)
	if err != nil {
		return batch.Header{}, core.Errorf(core.KafkaStorageError, "stored batch at offset %d: %s", base, err.Reason)
	}
	if h.BaseOffset != base {
		return batch.Header{}, core.Errorf(core.KafkaStorageError, "stored batch at offset %d says base offset %d", base, h.BaseOffset)
	}
	return h, nil
}

// assertTransition checks the invariants every command keeps.
func (l *Log) assertTransition(before Offsets) {
	core.Assert(l.highWatermark <= l.logEndOffset, "hw <= leo", "hw %d, leo %d", l.highWatermark, l.logEndOffset)
	core.Assert(l.highWatermark == l.logEndOffset, "everything applied is committed",
		"hw %d, leo %d", l.highWatermark, l.logEndOffset)
	core.Assert(l.logStartOffset <= l.highWatermark, "logStart <= hw", "log start %d, hw %d", l.logStartOffset, l.highWatermark)
	core.Assert(l.logStartOffset >= before.LogStartOffset, "logStart never decreases",
		"log start %d -> %d", before.LogStartOffset, l.logStartOffset)
	core.Assert(l.logEndOffset >= before.LogEndOffset, "leo never decreases", "leo %d -> %d", before.LogEndOffset, l.logEndOffset)
	core.Assert(l.highWatermark >= before.HighWatermark, "hw never decreases", "hw %d -> %d", before.HighWatermark, l.highWatermark)
	core.Assert(l.batchCount >= 0 && l.storedBytes >= l.batchCount*batch.HeaderSize, "store size consistent",
		"%d batches in %d bytes", l.batchCount, l.storedBytes)
	core.Assert((l.batchCount == 0) == (l.logStartOffset == l.logEndOffset), "empty store iff logStart == leo",
		"%d batches, log start %d, leo %d", l.batchCount, l.logStartOffset, l.logEndOffset)
}
