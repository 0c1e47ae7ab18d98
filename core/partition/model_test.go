package partition

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
)

// TestLogAgainstModel drives a Log with random commands (rapid.T.Repeat)
// and compares it after every step with a small model: a slice of every
// batch ever appended, the log start, and a per-producer table. Properties
// checked:
//
//   - every result (offset, error code, deletion counts) is the model's;
//   - offsets are dense and strictly increasing: an append lands at the old
//     log end and moves it by the record count;
//   - the stored content is the model's batch for batch, so each
//     producer's records are stored in the order they were accepted, and
//     batches sent once (never retried) appear in send order;
//   - nothing is visible past the high watermark, which equals the log end;
//   - an idempotent retry of a cached batch returns the original offset and
//     appends nothing;
//   - retention deletes exactly max(time prefix, bytes prefix), computed
//     independently here (bytes: Kafka's rule per batch, tried at exact
//     boundaries), and the log start never moves backward;
//   - a rejected command changes nothing (StateHash unchanged);
//   - a twin Log fed the same commands through EncodeCommand/DecodeCommand
//     returns the same encoded results and has the same StateHash;
//   - a snapshot taken at one point (Meta plus a frozen copy of the Store,
//     as a pebble snapshot) while later commands keep being applied, then
//     restored and fed those commands, reaches the original's StateHash and
//     keeps it from then on.
func TestLogAgainstModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{
			MaxProducerIDs:         rapid.IntRange(1, 4).Draw(t, "maxProducers"),
			ProducerIDExpirationMs: rapid.SampledFrom([]int64{0, 100, 300, 100000}).Draw(t, "expirationMs"),
		}
		h := newHarness(cfg)
		// Few producers let caches fill up; many exercise eviction.
		h.activeProducers = rapid.Int64Range(1, modelProducers).Draw(t, "activeProducers")
		t.Repeat(map[string]func(*rapid.T){
			"send":         h.send,
			"retry":        h.retry,
			"gap":          h.gap,
			"stale epoch":  h.staleEpoch,
			"bump epoch":   h.bumpEpoch,
			"plain":        h.plain,
			"bad batch":    h.badBatch,
			"retain":       h.retain,
			"delete":       h.deleteRecords,
			"fetch":        h.fetch,
			"list offsets": h.listOffsets,
			"capture":      h.capture,
			"restore":      h.restore,
			"":             h.check,
		})
	})
}

const modelProducers = 5

type modelBatch struct {
	base, last int64
	maxTs      int64
	size       int64
	values     []string
	// sendOnce: sent by "send" or "gap" (never a retry), for the send-order
	// property.
	sendOnce bool
	pid      int64
	order    int // client send counter for sendOnce batches
}

type cacheEntry struct {
	first, last int32
	base        int64
}

// brokerProducer is the model of the partition's producer table entry.
type brokerProducer struct {
	epoch  int16
	lastTs int64
	cache  []cacheEntry
}

// sent is a batch a client sent successfully, kept for retries.
type sent struct {
	epoch  int16
	first  int32
	ts     []int64
	values []string
}

// client is one idempotent producer's own view.
type client struct {
	epoch   int16
	nextSeq int32
	started bool
	sent    []sent
}

type harness struct {
	cfg   Config
	store *MemStore
	log   *Log
	twin  *Log

	// replica, once set, was restored from a snapshot and follows every
	// command since.
	replica *Log
	pending *capturePoint

	// the model
	batches   []modelBatch
	firstKept int
	logStart  int64
	leo       int64
	now       int64
	broker    map[int64]*brokerProducer
	clients   [modelProducers]client
	plainN    int
	sendOrder int

	activeProducers int64
}

type capturePoint struct {
	meta    Meta
	store   *MemStore
	hash    uint64
	cmds    []Command
	results [][]byte
}

func newHarness(cfg Config) *harness {
	h := &harness{cfg: cfg, store: &MemStore{}, broker: map[int64]*brokerProducer{}}
	h.log = New(cfg, nonNegativeScans{h.store})
	h.twin = New(cfg, &MemStore{})
	return h
}

// nonNegativeScans fails on a Scan from a negative offset: raftsm's pebble
// Store keys batches by the offset's unsigned bytes, where a negative start
// would seek to the wrong end. The Log must not depend on how a Store
// handles one.
type nonNegativeScans struct{ *MemStore }

func (s nonNegativeScans) Scan(from int64, fn func(int64, []byte) bool) error {
	if from < 0 {
		panic(fmt.Sprintf("Scan from negative offset %d", from))
	}
	return s.MemStore.Scan(from, fn)
}

// apply runs c on the log, the twin (through the command codec) and the
// replica, and checks that they agree.
func (h *harness) apply(t *rapid.T, c Command) Result {
	res, err := h.log.Apply(c)
	if err != nil {
		t.Fatalf("Apply(%T): %v", c, err)
	}
	enc := EncodeResult(res)
	dec, derr := DecodeResult(enc)
	if derr != nil || !bytes.Equal(EncodeResult(dec), enc) {
		t.Fatalf("result does not round-trip: %v", derr)
	}
	decoded, derr := DecodeCommand(EncodeCommand(c))
	if derr != nil {
		t.Fatalf("DecodeCommand: %v", derr)
	}
	for name, other := range map[string]*Log{"twin": h.twin, "replica": h.replica} {
		if other == nil {
			continue
		}
		r2, err := other.Apply(decoded)
		if err != nil {
			t.Fatalf("%s Apply: %v", name, err)
		}
		if !bytes.Equal(EncodeResult(r2), enc) {
			t.Fatalf("%s result %+v differs from %+v", name, r2, res)
		}
	}
	if h.pending != nil {
		h.pending.cmds = append(h.pending.cmds, c)
		h.pending.results = append(h.pending.results, enc)
	}
	return res
}

func (h *harness) tick(t *rapid.T) {
	// Mostly forward; a new leader's clock may be a little behind.
	h.now += rapid.Int64Range(-5, 40).Draw(t, "tick")
}

func (h *harness) storedBytes() int64 {
	n := int64(0)
	for _, b := range h.batches[h.firstKept:] {
		n += b.size
	}
	return n
}

// --- producing ---

type verdict int

const (
	accept verdict = iota
	duplicate
	outOfOrder
	fenced
)

// expect is the model of the idempotence rules over the model's table.
func (h *harness) expect(pid int64, epoch int16, first, last int32) (verdict, int64) {
	bp := h.broker[pid]
	if bp == nil || epoch > bp.epoch {
		return accept, 0
	}
	if epoch < bp.epoch {
		return fenced, 0
	}
	for _, e := range bp.cache {
		if e.first == first && e.last == last {
			return duplicate, e.base
		}
	}
	if first != batch.IncrementSequence(bp.cache[len(bp.cache)-1].last, 1) {
		return outOfOrder, 0
	}
	return accept, 0
}

func (h *harness) buildRecords(t *rapid.T, n int, value func(i int) string) ([]int64, []string) {
	ts := make([]int64, n)
	vs := make([]string, n)
	for i := range ts {
		ts[i] = h.now + rapid.Int64Range(-100, 100).Draw(t, "recordTs")
		vs[i] = value(i)
	}
	return ts, vs
}

func encode(pid int64, epoch int16, first int32, ts []int64, values []string) []byte {
	spec := batch.BuildSpec{PartitionLeaderEpoch: -1}
	if pid >= 0 {
		spec.Producer = &batch.Producer{ID: pid, Epoch: epoch, BaseSequence: first}
	}
	for i := range ts {
		spec.Records = append(spec.Records, batch.Record{TimestampMs: ts[i], Value: []byte(values[i])})
	}
	return batch.Build(spec)
}

// produce sends one batch and checks the result against the model.
// sendOnce marks batches never sent before (for the send-order property).
func (h *harness) produce(t *rapid.T, pid int64, epoch int16, first int32, ts []int64, values []string, sendOnce bool) (verdict, ProduceResult) {
	h.tick(t)
	b := encode(pid, epoch, first, ts, values)
	n := int32(len(ts))
	last := batch.IncrementSequence(first, n-1)
	v, dupBase := accept, int64(0)
	if pid >= 0 {
		v, dupBase = h.expect(pid, epoch, first, last)
	}
	hashBefore := h.log.StateHash()
	leoBefore := h.log.Offsets().LogEndOffset
	res := h.apply(t, Produce{NowMs: h.now, LeaderEpoch: 3, MaxMessageBytes: 1 << 20, Records: b}).(ProduceResult)
	switch v {
	case accept:
		if res.Err != nil || res.BaseOffset != h.leo || res.BaseOffset != leoBefore {
			t.Fatalf("produce accepted by the model: got %+v, want base %d", res, h.leo)
		}
		mb := modelBatch{base: h.leo, last: h.leo + int64(n) - 1, maxTs: slices.Max(ts), size: int64(len(b)),
			values: values, sendOnce: sendOnce, pid: pid}
		if sendOnce {
			h.sendOrder++
			mb.order = h.sendOrder
		}
		h.batches = append(h.batches, mb)
		h.leo += int64(n)
		if h.log.Offsets().LogEndOffset != leoBefore+int64(n) {
			t.Fatalf("leo %d after %d records appended at %d", h.log.Offsets().LogEndOffset, n, leoBefore)
		}
		if pid >= 0 {
			h.recordAccepted(pid, epoch, first, last, mb.base)
		}
	case duplicate:
		if res.Err != nil || res.BaseOffset != dupBase {
			t.Fatalf("retry of a cached batch: got %+v, want original base %d", res, dupBase)
		}
		if h.log.StateHash() != hashBefore || h.log.Offsets().LogEndOffset != leoBefore {
			t.Fatal("a duplicate changed the state")
		}
	case outOfOrder, fenced:
		want := map[verdict]core.Code{outOfOrder: core.OutOfOrderSequenceNumber, fenced: core.InvalidProducerEpoch}[v]
		if res.Err == nil || res.Err.Code != want || res.BaseOffset != -1 {
			t.Fatalf("got %+v, want error %d", res, want)
		}
		if h.log.StateHash() != hashBefore {
			t.Fatal("a rejected produce changed the state")
		}
	}
	return v, res
}

func (h *harness) recordAccepted(pid int64, epoch int16, first, last int32, base int64) {
	bp := h.broker[pid]
	if bp == nil {
		for len(h.broker) >= h.cfg.MaxProducerIDs {
			// Evict the oldest last append, ties by smallest id.
			ids := make([]int64, 0, len(h.broker))
			for id := range h.broker {
				ids = append(ids, id)
			}
			slices.SortFunc(ids, func(a, b int64) int {
				return cmp.Or(cmp.Compare(h.broker[a].lastTs, h.broker[b].lastTs), cmp.Compare(a, b))
			})
			delete(h.broker, ids[0])
		}
		bp = &brokerProducer{epoch: epoch}
		h.broker[pid] = bp
	}
	if epoch != bp.epoch {
		bp.epoch, bp.cache = epoch, nil
	}
	bp.cache = append(bp.cache, cacheEntry{first: first, last: last, base: base})
	if len(bp.cache) > 5 { // Kafka caches the last five batches
		bp.cache = bp.cache[1:]
	}
	bp.lastTs = h.now
}

func (h *harness) pickClient(t *rapid.T) (int64, *client) {
	pid := rapid.Int64Range(0, h.activeProducers-1).Draw(t, "pid")
	c := &h.clients[pid]
	if !c.started {
		c.started = true
		c.nextSeq = rapid.SampledFrom([]int32{0, math.MaxInt32 - 2, 1000}).Draw(t, "firstSeq")
	}
	return pid, c
}

func (h *harness) send(t *rapid.T) {
	pid, c := h.pickClient(t)
	n := rapid.IntRange(1, 4).Draw(t, "records")
	first := c.nextSeq
	ts, vs := h.buildRecords(t, n, func(i int) string {
		return fmt.Sprintf("p%de%ds%d", pid, c.epoch, batch.IncrementSequence(first, int32(i)))
	})
	v, _ := h.produce(t, pid, c.epoch, first, ts, vs, true)
	if v == accept {
		c.sent = append(c.sent, sent{epoch: c.epoch, first: first, ts: ts, values: vs})
		c.nextSeq = batch.IncrementSequence(first, int32(n))
	}
}

func (h *harness) retry(t *rapid.T) {
	pid, c := h.pickClient(t)
	if len(c.sent) == 0 {
		t.Skip("nothing sent yet")
	}
	// Mostly recent batches (cached), sometimes older ones.
	back := rapid.IntRange(1, min(len(c.sent), 8)).Draw(t, "back")
	s := c.sent[len(c.sent)-back]
	h.produce(t, pid, s.epoch, s.first, s.ts, s.values, false)
}

func (h *harness) gap(t *rapid.T) {
	pid, c := h.pickClient(t)
	first := batch.IncrementSequence(c.nextSeq, rapid.Int32Range(1, 3).Draw(t, "skip"))
	ts, vs := h.buildRecords(t, 1, func(int) string { return fmt.Sprintf("p%de%ds%d", pid, c.epoch, first) })
	if v, _ := h.produce(t, pid, c.epoch, first, ts, vs, true); v == accept {
		c.sent = append(c.sent, sent{epoch: c.epoch, first: first, ts: ts, values: vs})
		c.nextSeq = batch.IncrementSequence(first, 1)
	}
}

func (h *harness) staleEpoch(t *rapid.T) {
	pid, c := h.pickClient(t)
	if c.epoch == 0 {
		t.Skip("no older epoch")
	}
	e := c.epoch - 1
	ts, vs := h.buildRecords(t, 1, func(int) string { return fmt.Sprintf("p%de%dstale", pid, e) })
	h.produce(t, pid, e, c.nextSeq, ts, vs, false)
}

func (h *harness) bumpEpoch(t *rapid.T) {
	_, c := h.pickClient(t)
	c.epoch++
	c.nextSeq = rapid.SampledFrom([]int32{0, 7, math.MaxInt32}).Draw(t, "seqAfterBump")
	c.sent = nil
}

func (h *harness) plain(t *rapid.T) {
	n := rapid.IntRange(1, 3).Draw(t, "records")
	ts, vs := h.buildRecords(t, n, func(int) string { h.plainN++; return fmt.Sprintf("plain%d", h.plainN) })
	h.produce(t, -1, -1, -1, ts, vs, true)
}

func (h *harness) badBatch(t *rapid.T) {
	ts, vs := h.buildRecords(t, 2, func(int) string { return "bad" })
	b := encode(-1, -1, -1, ts, vs)
	var want core.Code
	maxMessageBytes := int32(1 << 20)
	switch rapid.IntRange(0, 5).Draw(t, "how") {
	case 0:
		b[len(b)-1] ^= 1
		want = core.CorruptMessage
	case 1:
		b = append(b, b...)
		want = core.InvalidRecord
	case 2:
		b[22] |= 0x20 // control bit
		batch.UpdateCRC(b)
		want = core.InvalidRecord
	case 3:
		b = b[:len(b)-3]
		want = core.CorruptMessage
	case 4:
		b = nil
		want = core.InvalidRecord
	case 5:
		// A valid batch under max.message.bytes 0: every batch is too large.
		maxMessageBytes = 0
		want = core.MessageTooLarge
	}
	hashBefore := h.log.StateHash()
	res := h.apply(t, Produce{NowMs: h.now, LeaderEpoch: 3, MaxMessageBytes: maxMessageBytes, Records: b}).(ProduceResult)
	if res.Err == nil || res.Err.Code != want || h.log.StateHash() != hashBefore {
		t.Fatalf("bad batch: %+v (want code %d), state changed: %v", res, want, h.log.StateHash() != hashBefore)
	}
}

// --- deleting ---

func (h *harness) retain(t *rapid.T) {
	h.tick(t)
	ms := rapid.SampledFrom([]int64{-1, 0, 20, 60, 150}).Draw(t, "retentionMs")
	rb := rapid.SampledFrom([]int64{-1, 0, 150, 400, 1000}).Draw(t, "retentionBytes")
	kept := h.batches[h.firstKept:]
	if len(kept) > 0 && rapid.Bool().Draw(t, "bytesAtBoundary") {
		// Exactly the size of the newest k batches, give or take a byte:
		// where an off-by-one in the bytes rule would show.
		k := rapid.IntRange(1, len(kept)).Draw(t, "k")
		rb = rapid.Int64Range(-1, 1).Draw(t, "delta")
		for _, b := range kept[len(kept)-k:] {
			rb += b.size
		}
	}

	// Time prefix: the longest run of oldest batches all older than the
	// cutoff. Bytes prefix (Kafka's size retention, per batch): the oldest
	// batch goes while what would remain without it is still at least rb,
	// so size retention never takes the log below rb.
	timeN := 0
	if ms >= 0 {
		for timeN < len(kept) && kept[timeN].maxTs < h.now-ms {
			timeN++
		}
	}
	bytesN := 0
	if rb >= 0 {
		rest := h.storedBytes()
		for bytesN < len(kept) && rest-kept[bytesN].size >= rb {
			rest -= kept[bytesN].size
			bytesN++
		}
	}
	n := max(timeN, bytesN)
	delBytes := int64(0)
	for _, b := range kept[:n] {
		delBytes += b.size
	}
	startBefore := h.log.Offsets().LogStartOffset
	expired := int64(0)
	for id, bp := range h.broker {
		if h.now-bp.lastTs >= h.cfg.ProducerIDExpirationMs {
			delete(h.broker, id)
			expired++
		}
	}
	cmd := Retain{NowMs: h.now, RetentionMs: ms, RetentionBytes: rb}
	due, err := h.log.RetainDue(cmd)
	if err != nil {
		t.Fatalf("RetainDue: %v", err)
	}
	if wantDue := n > 0 || expired > 0; due != wantDue {
		t.Fatalf("RetainDue(now %d, ms %d, bytes %d) = %v, want %v (%d batches, %d producers to go)", h.now, ms, rb, due, wantDue, n, expired)
	}
	res := h.apply(t, cmd).(RetainResult)
	h.firstKept += n
	if n > 0 {
		if h.firstKept == len(h.batches) {
			h.logStart = h.leo
		} else {
			h.logStart = max(h.logStart, h.batches[h.firstKept].base)
		}
	}
	want := RetainResult{LogStartOffset: h.logStart, DeletedBatches: int64(n), DeletedBytes: delBytes, ExpiredProducers: expired}
	if res != want {
		t.Fatalf("retain(now %d, ms %d, bytes %d) = %+v, want %+v", h.now, ms, rb, res, want)
	}
	if res.LogStartOffset < startBefore {
		t.Fatalf("log start moved back from %d to %d", startBefore, res.LogStartOffset)
	}
}

func (h *harness) deleteRecords(t *rapid.T) {
	off := rapid.Int64Range(h.logStart-2, h.leo+2).Draw(t, "offset")
	if rapid.IntRange(0, 5).Draw(t, "useHW") == 0 {
		off = -1
	}
	res := h.apply(t, DeleteRecords{Offset: off}).(DeleteRecordsResult)
	target := off
	if off == -1 {
		target = h.leo
	}
	if target < h.logStart || target > h.leo {
		if res.Err == nil || res.Err.Code != core.OffsetOutOfRange || res.LowWatermark != -1 {
			t.Fatalf("delete records %d outside [%d, %d]: %+v", off, h.logStart, h.leo, res)
		}
		return
	}
	for h.firstKept < len(h.batches) && h.batches[h.firstKept].last < target {
		h.firstKept++
	}
	h.logStart = max(h.logStart, target)
	if res.Err != nil || res.LowWatermark != h.logStart {
		t.Fatalf("delete records %d: %+v, want low watermark %d", off, res, h.logStart)
	}
}

// --- reading ---

func (h *harness) fetch(t *rapid.T) {
	off := rapid.Int64Range(h.logStart-2, h.leo+2).Draw(t, "offset")
	maxBytes := rapid.Int32Range(-1, 600).Draw(t, "maxBytes")
	if rapid.Bool().Draw(t, "atBoundary") {
		// Exactly the size of the first k batches the fetch would return,
		// give or take a byte: where an off-by-one would show.
		k := rapid.IntRange(1, 4).Draw(t, "k")
		sum := int64(0)
		for _, b := range h.batches[h.firstKept:] {
			if b.last >= off && k > 0 {
				sum += b.size
				k--
			}
		}
		maxBytes = int32(sum) + rapid.Int32Range(-1, 1).Draw(t, "delta")
	}
	// Half the fetches reuse a buffer, of any capacity and full of junk:
	// none of it may show in the records.
	var buf []byte
	if rapid.Bool().Draw(t, "reuse buffer") {
		buf = bytes.Repeat([]byte{0xab}, rapid.IntRange(0, 1<<14).Draw(t, "buffer bytes"))
	}
	res := h.log.FetchInto(off, maxBytes, buf)
	if res.HighWatermark != h.leo || res.LastStableOffset != h.leo || res.LogStartOffset != h.logStart {
		t.Fatalf("fetch offsets %+v, model hw %d log start %d", res, h.leo, h.logStart)
	}
	if off < h.logStart || off > h.leo {
		if res.Err == nil || res.Err.Code != core.OffsetOutOfRange || res.Records != nil {
			t.Fatalf("fetch %d outside [%d, %d]: %+v", off, h.logStart, h.leo, res.Err)
		}
		return
	}
	if res.Err != nil {
		t.Fatalf("fetch %d: %v", off, res.Err)
	}
	var want []modelBatch
	if off < h.leo && maxBytes > 0 {
		total := int64(0)
		for _, b := range h.batches[h.firstKept:] {
			if b.last < off {
				continue
			}
			if len(want) > 0 && total+b.size > int64(maxBytes) {
				break
			}
			want = append(want, b)
			total += b.size
		}
	}
	h.compareBatches(t, res.Records, want)
}

// compareBatches checks fetched bytes against model batches: the same
// offsets, values and sizes, each batch valid, none past the hw.
func (h *harness) compareBatches(t *rapid.T, records []byte, want []modelBatch) {
	var got [][]byte
	if len(records) > 0 {
		var err *core.Error
		if got, err = batch.Split(records); err != nil {
			t.Fatalf("fetched bytes do not split: %v", err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("fetched %d batches, model says %d", len(got), len(want))
	}
	for i, b := range got {
		hd, err := batch.VerifyStored(b)
		if err != nil {
			t.Fatalf("fetched batch %d: %v", i, err)
		}
		recs, err := batch.Records(b)
		if err != nil {
			t.Fatalf("fetched batch %d: %v", i, err)
		}
		values := make([]string, len(recs))
		for j, r := range recs {
			values[j] = string(r.Value)
		}
		w := want[i]
		if hd.BaseOffset != w.base || hd.LastOffset() != w.last || int64(len(b)) != w.size || hd.MaxTimestamp != w.maxTs ||
			!slices.Equal(values, w.values) || hd.PartitionLeaderEpoch != 3 {
			t.Fatalf("fetched batch [%d,%d] %v, model [%d,%d] %v", hd.BaseOffset, hd.LastOffset(), values, w.base, w.last, w.values)
		}
		if hd.LastOffset() >= h.log.Offsets().HighWatermark {
			t.Fatalf("batch [%d,%d] visible past hw %d", hd.BaseOffset, hd.LastOffset(), h.log.Offsets().HighWatermark)
		}
	}
}

func (h *harness) listOffsets(t *rapid.T) {
	ts := rapid.SampledFrom([]int64{-2, -1, 0, h.now - 50, h.now, h.now + 50, h.now + 200}).Draw(t, "ts")
	res := h.log.ListOffsets(ts)
	want := ListOffsetsResult{Offset: -1, TimestampMs: -1}
	switch ts {
	case -2:
		want.Offset = h.logStart
	case -1:
		want.Offset = h.leo
	}
	switch {
	case ts < -2:
		if res.Err == nil || res.Err.Code != core.InvalidRequest {
			t.Fatalf("ListOffsets(%d) = %+v, want InvalidRequest", ts, res)
		}
		return
	case ts >= 0:
		for _, b := range h.batches[h.firstKept:] {
			if b.maxTs >= ts {
				want = ListOffsetsResult{Offset: max(b.base, h.logStart), TimestampMs: b.maxTs}
				break
			}
		}
	}
	if res != want {
		t.Fatalf("ListOffsets(%d) = %+v, want %+v", ts, res, want)
	}
}

// --- snapshots ---

func cloneStore(t *rapid.T, s *MemStore) *MemStore {
	c := &MemStore{}
	if err := s.Scan(scanFromOldest, func(base int64, b []byte) bool {
		if err := c.Append(base, b, nil); err != nil { // MemStore copies
			t.Fatal(err)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// capture freezes Meta and the Store, as a runtime does when dragonboat
// asks for a snapshot; commands keep being applied to the log afterwards.
func (h *harness) capture(t *rapid.T) {
	if h.pending != nil {
		t.Skip("a capture is pending")
	}
	h.pending = &capturePoint{meta: h.log.Meta(), store: cloneStore(t, h.store), hash: h.log.StateHash()}
}

// restore writes the captured snapshot, reads it into a fresh Store, and
// replays the commands applied since the capture.
func (h *harness) restore(t *rapid.T) {
	p := h.pending
	if p == nil {
		t.Skip("nothing captured")
	}
	h.pending = nil
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, p.meta, p.store); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	r, err := ReadSnapshot(&buf, &MemStore{}, h.cfg)
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	if r.StateHash() != p.hash {
		t.Fatalf("restored hash %x, captured %x", r.StateHash(), p.hash)
	}
	for i, c := range p.cmds {
		res, err := r.Apply(c)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if !bytes.Equal(EncodeResult(res), p.results[i]) {
			t.Fatalf("replayed command %d (%T) answered %+v differently", i, c, res)
		}
	}
	if r.StateHash() != h.log.StateHash() {
		t.Fatalf("restored and replayed hash %x, original %x", r.StateHash(), h.log.StateHash())
	}
	h.replica = r
}

// --- the invariant check after every step ---

func (h *harness) check(t *rapid.T) {
	o := h.log.Offsets()
	want := Offsets{LogStartOffset: h.logStart, HighWatermark: h.leo, LastStableOffset: h.leo, LogEndOffset: h.leo}
	if o != want {
		t.Fatalf("offsets %+v, model %+v", o, want)
	}
	if err := h.log.CheckStore(); err != nil {
		t.Fatalf("CheckStore: %v", err)
	}
	for name, other := range map[string]*Log{"twin": h.twin, "replica": h.replica} {
		if other != nil && other.StateHash() != h.log.StateHash() {
			t.Fatalf("%s state hash differs", name)
		}
	}
	// The whole stored log, read in one fetch from the log start.
	res := h.log.Fetch(h.logStart, math.MaxInt32)
	if res.Err != nil {
		t.Fatalf("full fetch: %v", res.Err)
	}
	h.compareBatches(t, res.Records, h.batches[h.firstKept:])
	// Batches sent once appear in send order.
	last := 0
	for _, b := range h.batches[h.firstKept:] {
		if b.sendOnce {
			if b.order <= last {
				t.Fatalf("batch sent %d-th stored after the %d-th", b.order, last)
			}
			last = b.order
		}
	}
	// The producer table.
	m := h.log.Meta()
	if len(m.Producers) != len(h.broker) {
		t.Fatalf("%d producers, model %d", len(m.Producers), len(h.broker))
	}
	for _, p := range m.Producers {
		bp := h.broker[p.ID]
		if bp == nil || bp.epoch != p.Epoch || bp.lastTs != p.LastTimestampMs || len(bp.cache) != len(p.Batches) {
			t.Fatalf("producer %+v, model %+v", p, bp)
		}
		for i, e := range bp.cache {
			b := p.Batches[i]
			if b.FirstSeq != e.first || b.LastSeq != e.last || b.BaseOffset != e.base {
				t.Fatalf("producer %d batch %d: %+v, model %+v", p.ID, i, b, e)
			}
		}
	}
	// Meta round-trips.
	dm, err := DecodeMeta(EncodeMeta(m))
	if err != nil || !bytes.Equal(EncodeMeta(dm), EncodeMeta(m)) {
		t.Fatalf("meta does not round-trip: %v", err)
	}
}
