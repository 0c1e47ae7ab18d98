package linearizability

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
)

// The linear-time checks (Jepsen's Kafka workload, adapted to histories
// whose fetches carry offsets). Each runs in O(n log n) at worst over the
// records of the history; together they handle a million operations in
// under two seconds (docs/linearizability.md has the figures).
//
// The centre is the placement pass: every produced value has exactly one
// offset, and every offset of a partition holds exactly one value. Both
// acknowledgements (base offset + position in batch) and fetches (the
// offset each record came back at) place values; the first placement is
// the reference and any disagreement is an anomaly. The porcupine log
// model then uses the placements (models.go).

const (
	fRead uint8 = 1 << iota
	fDupReported
	fPhantomReported
	fFailedReported
	fFutureReported
)

// valueInfo is what the history says about one value.
type valueInfo struct {
	op       int32 // producing operation, -1 for a value nobody produced
	idx      int32 // position in its batch
	tp       int32
	placedBy int32 // operation that placed it first
	offset   int64 // first offset it was placed at, -1 if never placed
	flags    uint8
}

// slot is what the history says about one offset of one partition.
type slot struct {
	value    int32
	by       int32 // operation that placed the value here first
	reported bool  // an inconsistent-offsets anomaly was reported here
}

type partState struct {
	slots     map[int64]slot
	maxRead   int64 // highest offset any ok fetch returned, -1 if none
	maxReadOp int32
	// Spans of offsets reads passed over ([start, end) pairs), collected
	// by pollOrder for lostWrites.
	spanStart, spanEnd []int64
}

type analysis struct {
	ops     []Operation
	tps     []TopicPartition
	tpID    map[TopicPartition]int32
	opTP    []int32 // partition of a produce, fetch or list_offsets; -1 otherwise
	values  []valueInfo
	valueID map[string]int32
	// firstValue[i]: for a produce, the index in values of its first
	// record; the others follow in batch order.
	firstValue []int32
	opBase     []int64          // produce base offset: the acknowledged one, else the first observed, else -1
	split      []bool           // a batch-split anomaly was reported for this produce
	phantoms   map[int32]string // values fetched that nobody produced
	parts      []partState
}

// analyze validates h (see History.Validate) and indexes it: partitions,
// and every produced value with its operation and position.
func analyze(h *History) (*analysis, error) {
	n := len(h.Operations)
	produced := 0
	for i := range h.Operations {
		op := &h.Operations[i]
		if err := validateOperation(i, op); err != nil {
			return nil, fmt.Errorf("operation %d: %w", i, err)
		}
		if p, ok := op.Input.(*Produce); ok {
			produced += len(p.Records)
		}
	}
	a := &analysis{
		ops:        h.Operations,
		tpID:       make(map[TopicPartition]int32),
		opTP:       make([]int32, n),
		valueID:    make(map[string]int32, produced),
		values:     make([]valueInfo, 0, produced),
		opBase:     make([]int64, n),
		firstValue: make([]int32, n),
		split:      make([]bool, n),
		phantoms:   make(map[int32]string),
	}
	var perPartition []int // produced records per partition, to size the slot maps
	for i := range a.ops {
		op := &a.ops[i]
		a.opTP[i] = -1
		a.opBase[i] = -1
		switch in := op.Input.(type) {
		case *Produce:
			tp := a.partition(TopicPartition{in.Topic, in.Partition})
			a.opTP[i] = tp
			a.firstValue[i] = int32(len(a.values))
			for j, r := range in.Records {
				if prev, dup := a.valueID[r.Value]; dup {
					return nil, fmt.Errorf("operation %d: value %q already produced by operation %d: values must be unique", i, r.Value, a.values[prev].op)
				}
				a.valueID[r.Value] = int32(len(a.values))
				a.values = append(a.values, valueInfo{op: int32(i), idx: int32(j), tp: tp, placedBy: -1, offset: -1})
			}
			perPartition = append(perPartition, make([]int, len(a.tps)-len(perPartition))...)
			perPartition[tp] += len(in.Records)
		case *Fetch:
			a.opTP[i] = a.partition(TopicPartition{in.Topic, in.Partition})
		case *ListOffsets:
			a.opTP[i] = a.partition(TopicPartition{in.Topic, in.Partition})
		case *Commit, *FetchCommitted, *Assign:
		default:
			panic(fmt.Sprintf("linearizability: unknown input type %T", in))
		}
	}
	for tp, k := range perPartition {
		a.parts[tp].slots = make(map[int64]slot, k)
	}
	return a, nil
}

func (a *analysis) partition(tp TopicPartition) int32 {
	if id, ok := a.tpID[tp]; ok {
		return id
	}
	id := int32(len(a.tps))
	a.tpID[tp] = id
	a.tps = append(a.tps, tp)
	a.parts = append(a.parts, partState{slots: make(map[int64]slot), maxRead: -1, maxReadOp: -1})
	return id
}

// place runs the placement pass: acknowledgements first (so that they are
// the reference a read is compared with), then fetches in history order.
func (a *analysis) place(col *collector) {
	for i := range a.ops {
		op := &a.ops[i]
		in, ok := op.Input.(*Produce)
		if !ok || op.Outcome != OutcomeOK {
			continue
		}
		base := op.Output.(*ProduceResult).BaseOffset
		a.opBase[i] = base
		for j, r := range in.Records {
			a.placeValue(col, a.firstValue[i]+int32(j), r.Value, base+int64(j), int32(i))
		}
	}
	for i := range a.ops {
		op := &a.ops[i]
		if _, ok := op.Input.(*Fetch); !ok || op.Outcome != OutcomeOK {
			continue
		}
		a.placeFetch(col, int32(i))
	}
}

func (a *analysis) placeFetch(col *collector, f int32) {
	op := &a.ops[f]
	out := op.Output.(*FetchResult)
	tp := a.opTP[f]
	ps := &a.parts[tp]
	pastHW := false
	for _, r := range out.Records {
		if out.HighWatermark >= 0 && r.Offset >= out.HighWatermark && !pastHW {
			pastHW = true
			col.add(Anomaly{Kind: ReadPastHighWatermark, Ops: []int{int(f)}, Partition: a.tps[tp], Offset: r.Offset, Value: r.Value,
				Message: fmt.Sprintf("op %d fetched %q at offset %d of %s but reported high watermark %d", f, r.Value, r.Offset, a.tps[tp], out.HighWatermark)})
		}
		if r.Offset > ps.maxRead {
			ps.maxRead, ps.maxReadOp = r.Offset, f
		}
		v, known := a.valueID[r.Value]
		if !known {
			v = int32(len(a.values))
			a.valueID[r.Value] = v
			a.values = append(a.values, valueInfo{op: -1, tp: tp, placedBy: -1, offset: -1})
			a.phantoms[v] = r.Value
		}
		vi := &a.values[v]
		switch {
		case vi.op < 0:
			if vi.flags&fPhantomReported == 0 {
				vi.flags |= fPhantomReported
				col.add(Anomaly{Kind: PhantomValue, Ops: []int{int(f)}, Partition: a.tps[tp], Offset: r.Offset, Value: r.Value,
					Message: fmt.Sprintf("op %d fetched %q at offset %d of %s, a value no operation produced", f, r.Value, r.Offset, a.tps[tp])})
			}
		case vi.tp != tp:
			if vi.flags&fPhantomReported == 0 {
				vi.flags |= fPhantomReported
				col.add(Anomaly{Kind: PhantomValue, Ops: []int{int(f), int(vi.op)}, Partition: a.tps[tp], Offset: r.Offset, Value: r.Value,
					Message: fmt.Sprintf("op %d fetched %q at offset %d of %s, but op %d produced it to %s", f, r.Value, r.Offset, a.tps[tp], vi.op, a.tps[vi.tp])})
			}
			// A value read from the wrong partition has no offset in
			// this one: placing it would only add noise.
			continue
		default:
			p := &a.ops[vi.op]
			if p.Outcome == OutcomeFailed && vi.flags&fFailedReported == 0 {
				vi.flags |= fFailedReported
				col.add(Anomaly{Kind: FailedWriteVisible, Ops: []int{int(f), int(vi.op)}, Partition: a.tps[tp], Offset: r.Offset, Value: r.Value,
					Message: fmt.Sprintf("op %d fetched %q at offset %d of %s, but op %d that produced it failed (%s)", f, r.Value, r.Offset, a.tps[tp], vi.op, p.Error)})
			}
			if op.Return < p.Call && vi.flags&fFutureReported == 0 {
				vi.flags |= fFutureReported
				col.add(Anomaly{Kind: FutureRead, Ops: []int{int(f), int(vi.op)}, Partition: a.tps[tp], Offset: r.Offset, Value: r.Value,
					Message: fmt.Sprintf("op %d fetched %q at offset %d of %s and returned at %d, before op %d produced it at %d", f, r.Value, r.Offset, a.tps[tp], op.Return, vi.op, p.Call)})
			}
		}
		vi.flags |= fRead
		a.placeValue(col, v, r.Value, r.Offset, f)
	}
}

// placeValue records that operation by found value v at offset off of v's
// partition, and reports any disagreement with earlier placements.
func (a *analysis) placeValue(col *collector, v int32, value string, off int64, by int32) {
	vi := &a.values[v]
	tp := a.tps[vi.tp]
	switch {
	case vi.offset < 0:
		vi.offset, vi.placedBy = off, by
		if vi.op >= 0 {
			b := off - int64(vi.idx)
			switch {
			case a.opBase[vi.op] < 0:
				a.opBase[vi.op] = b
			case a.opBase[vi.op] != b && !a.split[vi.op]:
				a.split[vi.op] = true
				col.add(Anomaly{Kind: BatchSplit, Ops: []int{int(vi.op), int(by)}, Partition: tp, Offset: off, Value: value,
					Message: fmt.Sprintf("op %d found %q (record %d of op %d's batch) at offset %d of %s, but the batch starts at %d", by, value, vi.idx, vi.op, off, tp, a.opBase[vi.op])})
			}
		}
	case vi.offset != off && vi.flags&fDupReported == 0:
		vi.flags |= fDupReported
		ops := []int{int(vi.placedBy), int(by)}
		if vi.op >= 0 && int(vi.op) != ops[0] && int(vi.op) != ops[1] {
			ops = append(ops, int(vi.op))
		}
		col.add(Anomaly{Kind: Duplicate, Ops: ops, Partition: tp, Offset: off, Value: value,
			Message: fmt.Sprintf("%q is at offset %d of %s (op %d) and at offset %d (op %d)", value, vi.offset, tp, vi.placedBy, off, by)})
	}
	ps := &a.parts[vi.tp]
	s, ok := ps.slots[off]
	switch {
	case !ok:
		ps.slots[off] = slot{value: v, by: by}
	case s.value != v && !s.reported:
		s.reported = true
		ps.slots[off] = s
		col.add(Anomaly{Kind: InconsistentOffsets, Ops: []int{int(s.by), int(by)}, Partition: tp, Offset: off, Value: value,
			Message: fmt.Sprintf("offset %d of %s holds %q (op %d) and %q (op %d)", off, tp, a.valueName(s.value), s.by, value, by)})
	}
}

// valueName returns the text of value v. It is needed only for anomalies,
// so produced values keep no reverse table.
func (a *analysis) valueName(v int32) string {
	if vi := &a.values[v]; vi.op >= 0 {
		return a.ops[vi.op].Input.(*Produce).Records[vi.idx].Value
	}
	return a.phantoms[v]
}

func (a *analysis) linearChecks(col *collector, readersCoverLog bool) {
	a.sendOrder(col)
	a.pollOrder(col) // before lostWrites: it records the spans reads covered
	a.lostWrites(col, readersCoverLog)
	a.keyOrder(col)
	a.groupOwnership(col)
	a.staleCommits(col)
}

// lostWrites: an acknowledged value that no fetch returned although a read
// passed over its offset: the offset lies in the span of one fetch (from
// the requested offset to the highest offset returned) or of one poll
// sequence (from where the previous poll stopped to the highest offset
// returned). A correct system returns the value there, so this holds
// whatever the workload's readers do.
//
// With readersCoverLog it also reports, as Jepsen's Kafka workload does,
// acknowledged values that nobody read below the highest offset any fetch
// returned. That assumes the workload's readers together read every
// offset below the highest they reach (consumers start at the log start or
// at committed offsets that earlier reads covered); it then also catches a
// consumer group that skipped records across a rebalance.
func (a *analysis) lostWrites(col *collector, readersCoverLog bool) {
	covered := make([]*intervals, len(a.parts))
	for tp := range a.parts {
		ps := &a.parts[tp]
		covered[tp] = newIntervals(ps.spanStart, ps.spanEnd)
		ps.spanStart, ps.spanEnd = nil, nil
	}
	for i := range a.ops {
		op := &a.ops[i]
		in, ok := op.Input.(*Produce)
		if !ok || op.Outcome != OutcomeOK {
			continue
		}
		tp := a.opTP[i]
		ps := &a.parts[tp]
		base := op.Output.(*ProduceResult).BaseOffset
		for j, r := range in.Records {
			vi := &a.values[a.firstValue[i]+int32(j)]
			off := base + int64(j)
			if vi.flags&fRead != 0 {
				continue
			}
			switch {
			case covered[tp].overlaps(off, off+1):
				col.add(Anomaly{Kind: LostWrite, Ops: []int{i}, Partition: a.tps[tp], Offset: off, Value: r.Value,
					Message: fmt.Sprintf("op %d acknowledged %q at offset %d of %s; reads passed over that offset but none returned it", i, r.Value, off, a.tps[tp])})
			case readersCoverLog && off < ps.maxRead:
				col.add(Anomaly{Kind: LostWrite, Ops: []int{i, int(ps.maxReadOp)}, Partition: a.tps[tp], Offset: off, Value: r.Value,
					Message: fmt.Sprintf("op %d acknowledged %q at offset %d of %s; no fetch returned it, though op %d read offset %d", i, r.Value, off, a.tps[tp], ps.maxReadOp, ps.maxRead)})
			}
		}
	}
}

// byClientTime orders operation ids by (client, partition, call, id).
func (a *analysis) byClientTime(ids []int32) {
	slices.SortFunc(ids, func(x, y int32) int {
		ox, oy := &a.ops[x], &a.ops[y]
		if c := cmp.Compare(ox.Client, oy.Client); c != 0 {
			return c
		}
		if c := cmp.Compare(a.opTP[x], a.opTP[y]); c != 0 {
			return c
		}
		if c := cmp.Compare(ox.Call, oy.Call); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
}

// sendOrder: a client's acknowledged produces to one partition, taken in
// the order it called them, must get increasing offsets: each batch starts
// after the previous one ends. Kafka promises this for one producer even
// with several requests in flight (given idempotence); a workload whose
// clients pipeline without idempotence should expect reports here.
func (a *analysis) sendOrder(col *collector) {
	var ids []int32
	for i := range a.ops {
		if _, ok := a.ops[i].Input.(*Produce); ok && a.ops[i].Outcome == OutcomeOK {
			ids = append(ids, int32(i))
		}
	}
	a.byClientTime(ids)
	for k := 1; k < len(ids); k++ {
		p, q := &a.ops[ids[k-1]], &a.ops[ids[k]]
		if p.Client != q.Client || a.opTP[ids[k-1]] != a.opTP[ids[k]] {
			continue
		}
		pEnd := p.Output.(*ProduceResult).BaseOffset + int64(len(p.Input.(*Produce).Records))
		qBase := q.Output.(*ProduceResult).BaseOffset
		if qBase < pEnd {
			tp := a.tps[a.opTP[ids[k]]]
			col.add(Anomaly{Kind: NonmonotonicSend, Ops: []int{int(ids[k-1]), int(ids[k])}, Partition: tp, Offset: qBase,
				Message: fmt.Sprintf("client %d sent op %d then op %d to %s, but op %d's batch ends at %d and op %d's starts at %d", p.Client, ids[k-1], ids[k], tp, ids[k-1], pEnd-1, ids[k], qBase)})
		}
	}
}

// pollOrder: within one fetch, the records at or after the requested
// offset must have consecutive increasing offsets starting at the
// requested offset (no log here is compacted or holds transaction
// markers, so offsets are dense). A fetch with Offset -1 is a poll: it
// must continue where the same client's previous poll of the partition
// stopped (fetches at explicit offsets neither continue nor start a poll
// sequence). A client's Assign (any outcome) starts new sequences, because a
// rebalance legitimately moves a consumer back to a committed offset.
// Records before the requested offset are the start of a batch the broker
// returned whole; they are placed but not ordered here.
func (a *analysis) pollOrder(col *collector) {
	var ids []int32
	for i := range a.ops {
		op := &a.ops[i]
		switch op.Input.(type) {
		case *Fetch:
			if op.Outcome == OutcomeOK {
				ids = append(ids, int32(i))
			}
		case *Assign:
			ids = append(ids, int32(i))
		}
	}
	slices.SortFunc(ids, func(x, y int32) int {
		ox, oy := &a.ops[x], &a.ops[y]
		if c := cmp.Compare(ox.Client, oy.Client); c != 0 {
			return c
		}
		if c := cmp.Compare(ox.Call, oy.Call); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	type position struct {
		next int64 // offset the next poll must start at
		by   int32 // the poll that set it
	}
	seqs := make(map[int32]position) // per partition, for the current client
	client := -1
	for _, id := range ids {
		op := &a.ops[id]
		if op.Client != client {
			clear(seqs)
			client = op.Client
		}
		in, isFetch := op.Input.(*Fetch)
		if !isFetch {
			clear(seqs)
			continue
		}
		tpID := a.opTP[id]
		tp := a.tps[tpID]
		out := op.Output.(*FetchResult)
		expect, expectBy := int64(-1), int32(-1)
		if in.Offset >= 0 {
			expect = in.Offset
		} else if pos, ok := seqs[tpID]; ok {
			expect, expectBy = pos.next, pos.by
		}
		last := int64(-1)  // highest offset returned so far by this fetch
		first := int64(-1) // first offset considered
		var back, skip bool
		for _, r := range out.Records {
			if in.Offset >= 0 && r.Offset < in.Offset {
				continue
			}
			if first < 0 {
				first = r.Offset
			}
			ref, refBy := last, id
			if last < 0 {
				if expect < 0 {
					last = r.Offset
					continue
				}
				ref, refBy = expect-1, expectBy
			}
			ops := []int{int(id)}
			if refBy >= 0 && refBy != id {
				ops = []int{int(refBy), int(id)}
			}
			switch {
			case r.Offset <= ref && !back:
				back = true
				col.add(Anomaly{Kind: NonmonotonicPoll, Ops: ops, Partition: tp, Offset: r.Offset, Value: r.Value,
					Message: fmt.Sprintf("client %d: op %d returned offset %d of %s after offset %d (%s)", op.Client, id, r.Offset, tp, ref, pollRef(refBy, id))})
			case r.Offset > ref+1 && !skip:
				skip = true
				col.add(Anomaly{Kind: PollSkip, Ops: ops, Partition: tp, Offset: ref + 1, Value: r.Value,
					Message: fmt.Sprintf("client %d: op %d returned offset %d of %s after offset %d (%s), skipping %d..%d", op.Client, id, r.Offset, tp, ref, pollRef(refBy, id), ref+1, r.Offset-1)})
			}
			last = max(last, r.Offset)
		}
		if last < 0 {
			continue
		}
		ps := &a.parts[tpID]
		switch {
		case in.Offset >= 0:
			ps.spanStart = append(ps.spanStart, in.Offset)
		case expect >= 0:
			ps.spanStart = append(ps.spanStart, min(expect, first))
		default:
			ps.spanStart = append(ps.spanStart, first)
		}
		ps.spanEnd = append(ps.spanEnd, last+1)
		if in.Offset < 0 {
			seqs[tpID] = position{next: last + 1, by: id}
		}
	}
}

func pollRef(refBy, id int32) string {
	switch {
	case refBy == id:
		return "earlier in the same fetch"
	case refBy < 0:
		return "the requested offset"
	default:
		return fmt.Sprintf("where op %d stopped", refBy)
	}
}

// keyOrder: values with one key are stored in the real-time order of their
// produces. If produce A returned before produce B was called, and both
// carry key k, A's record must be at a lower offset than B's. Offsets come
// from acknowledgements, or for unknown produces from reads; an unknown
// produce never returned, so it precedes nothing. O(n log n) per key: a
// sweep in call order keeps the highest offset among produces that had
// returned before the current call.
func (a *analysis) keyOrder(col *collector) {
	type keyRef struct {
		tp  int32
		key string
	}
	type item struct {
		call, ret, off int64
		op             int32
		value          string
	}
	groupOf := make(map[keyRef]int32)
	var groups [][]item
	var keys []keyRef
	for i := range a.ops {
		op := &a.ops[i]
		in, ok := op.Input.(*Produce)
		if !ok || op.Outcome == OutcomeFailed {
			continue
		}
		for j, r := range in.Records {
			if r.Key == "" {
				continue
			}
			it := item{call: op.Call, ret: maxTime + 1, op: int32(i), value: r.Value}
			if op.Outcome == OutcomeOK {
				it.ret = op.Return
				it.off = op.Output.(*ProduceResult).BaseOffset + int64(j)
			} else {
				vi := &a.values[a.firstValue[i]+int32(j)]
				if vi.offset < 0 {
					continue
				}
				it.off = vi.offset
			}
			k := keyRef{a.opTP[i], r.Key}
			g, ok := groupOf[k]
			if !ok {
				g = int32(len(groups))
				groupOf[k] = g
				groups = append(groups, nil)
				keys = append(keys, k)
			}
			groups[g] = append(groups[g], it)
		}
	}
	for g, items := range groups {
		if len(items) < 2 {
			continue
		}
		byCall := items // already in operation order; sort by call
		slices.SortStableFunc(byCall, func(x, y item) int { return cmp.Compare(x.call, y.call) })
		byRet := slices.Clone(items)
		slices.SortStableFunc(byRet, func(x, y item) int { return cmp.Compare(x.ret, y.ret) })
		best := -1 // index in byRet of the highest offset among returned produces
		j := 0
		for _, b := range byCall {
			for j < len(byRet) && byRet[j].ret < b.call {
				if best < 0 || byRet[j].off > byRet[best].off {
					best = j
				}
				j++
			}
			if best >= 0 && byRet[best].off >= b.off {
				w := byRet[best]
				tp := a.tps[keys[g].tp]
				col.add(Anomaly{Kind: KeyOrder, Ops: []int{int(w.op), int(b.op)}, Partition: tp, Offset: b.off, Value: b.value,
					Message: fmt.Sprintf("key %q of %s: op %d's %q (offset %d) returned at %d, before op %d was called at %d, yet op %d's %q is at offset %d", keys[g].key, tp, w.op, w.value, w.off, w.ret, b.op, b.call, b.op, b.value, b.off)})
			}
		}
	}
}

// groupOwnership: in one generation of one group, each partition has at
// most one owner, according to the members' successful Assign operations.
func (a *analysis) groupOwnership(col *collector) {
	type ownerKey struct {
		group string
		gen   int32
		tp    TopicPartition
	}
	type owner struct {
		member   string
		op       int32
		reported bool
	}
	owners := make(map[ownerKey]owner)
	for i := range a.ops {
		op := &a.ops[i]
		in, ok := op.Input.(*Assign)
		if !ok || op.Outcome != OutcomeOK {
			continue
		}
		out := op.Output.(*AssignResult)
		for _, tp := range out.Partitions {
			k := ownerKey{in.Group, out.Generation, tp}
			o, seen := owners[k]
			switch {
			case !seen:
				owners[k] = owner{member: out.Member, op: int32(i)}
			case o.member != out.Member && !o.reported:
				o.reported = true
				owners[k] = o
				col.add(Anomaly{Kind: GroupOwnership, Ops: []int{int(o.op), i}, Partition: tp, Group: in.Group, Offset: -1,
					Message: fmt.Sprintf("group %q generation %d: %s assigned to member %q (op %d) and to member %q (op %d)", in.Group, out.Generation, tp, o.member, o.op, out.Member, i)})
			}
		}
	}
}

// staleCommits: generation fencing. A generation N of a group is observed
// when a successful Assign reporting N returns, or a successful Commit at N
// returns. A successful Commit at generation g >= 0 that was called after
// some N > g had been observed is an anomaly: the coordinator must have
// been at N or later when it accepted the commit, and it must reject a
// commit from an older generation. Commits at generation -1 (outside group
// management) are not fenced.
func (a *analysis) staleCommits(col *collector) {
	type point struct {
		t   int64
		gen int32
		op  int32
	}
	pointsOf := make(map[string][]point)
	var groups []string
	add := func(group string, p point) {
		if _, ok := pointsOf[group]; !ok {
			groups = append(groups, group)
		}
		pointsOf[group] = append(pointsOf[group], p)
	}
	for i := range a.ops {
		op := &a.ops[i]
		if op.Outcome != OutcomeOK {
			continue
		}
		switch in := op.Input.(type) {
		case *Assign:
			add(in.Group, point{op.Return, op.Output.(*AssignResult).Generation, int32(i)})
		case *Commit:
			if in.Generation >= 0 {
				add(in.Group, point{op.Return, in.Generation, int32(i)})
			}
		}
	}
	// groups is in order of first appearance, so reports are deterministic.
	for _, group := range groups {
		points := pointsOf[group]
		slices.SortStableFunc(points, func(x, y point) int { return cmp.Compare(x.t, y.t) })
		best := make([]int, len(points)) // best[i]: index of the highest generation in points[:i+1]
		for i := range points {
			best[i] = i
			if i > 0 && points[best[i-1]].gen >= points[i].gen {
				best[i] = best[i-1]
			}
		}
		for _, p := range points {
			op := &a.ops[p.op]
			in, ok := op.Input.(*Commit)
			if !ok {
				continue
			}
			k := sort.Search(len(points), func(i int) bool { return points[i].t >= op.Call })
			if k == 0 {
				continue
			}
			w := points[best[k-1]]
			if w.gen > in.Generation {
				col.add(Anomaly{Kind: StaleCommit, Ops: []int{int(w.op), int(p.op)}, Partition: TopicPartition{in.Topic, in.Partition}, Group: group, Offset: in.Offset,
					Message: fmt.Sprintf("group %q: op %d committed offset %d of %s/%d at generation %d and succeeded, but it was called at %d, after op %d had observed generation %d (returned at %d)", group, p.op, in.Offset, in.Topic, in.Partition, in.Generation, op.Call, w.op, w.gen, w.t)})
			}
		}
	}
}
