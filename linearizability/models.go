package linearizability

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/anishathalye/porcupine"
)

// The porcupine models.
//
// Log model (one sub-history per topic-partition). The state is the
// committed log's length (plus the bookkeeping described below). Which
// value sits at which offset is settled by the placement pass (checks.go),
// so the model only has to check the real-time facts about lengths:
//
//   - a produce whose base offset b is known (acknowledged, or observed by
//     a fetch for an unknown outcome) takes effect when the length goes
//     from b to b+n;
//   - an unknown produce whose values nobody read ("unplaced") takes effect
//     at a length where its n offsets overlap no known placement — or
//     never, which porcupine expresses by linearizing it after everything
//     else (its return is +infinity, the end of the history);
//   - a fetch that returned offset k and reported high watermark h takes
//     effect when the length is at least k+1 and exactly h; a ListOffsets
//     that returned o, when the length is o.
//
// Two refinements keep porcupine's search close to linear. Neither rejects
// a valid history: the first prunes orders that cannot be completed, the
// second keeps one order out of each set of equivalent ones.
//
//   - A read that reports high watermark h must take effect while the
//     length is h, so before the produce that moves the length past h.
//     The state counts the reads taken effect at the current length, and a
//     produce steps only once every read of that length has (their number
//     is known from the history). Without this, porcupine linearizes a
//     produce before a concurrent read of the old length whenever the
//     produce was called first, and only discovers the dead end when the
//     read's return comes up, after exploring every order of the
//     operations in between: with 30 concurrent clients on one partition
//     that did not finish within 30 s.
//   - Unplaced produces of one batch size are interchangeable: if a valid
//     linearization uses a later-called one to fill a gap and an
//     earlier-called one later (or never), swapping them is also valid,
//     since neither ever returns. So they take effect in call order, per
//     size: the state counts how many of each size have, and only the next
//     in line steps. Without this, porcupine tries every pending unknown
//     produce in every gap and explores their combinations on backtracking
//     (ten times more steps on the 10k benchmark).
//
// A failed produce is left out (it did not happen); failed and unknown
// reads are left out (they observed nothing). The issue suggested adding a
// chained hash of the values to the state: with every placed batch pinned
// to its base offset, a hash could only tell apart orders of unplaced
// produces, which no operation observes, and it would multiply the states
// porcupine explores. See docs/linearizability.md.
//
// Committed-offset model (one sub-history per group and topic-partition).
// The state is the committed offset and the highest generation of any
// commit applied. An ok commit at generation g >= 0 requires g >= that
// generation; an unknown commit that would be fenced is a no-op, otherwise
// it applies (or, linearized at the end, has no visible effect); a fetch of
// the committed offset must return the state's offset (-1 for none).
// Assign operations are not part of this model (their recorded times may
// be late in real-cluster tests); the stale-commit linear check uses them.

type logOpKind uint8

const (
	logAppend logOpKind = iota + 1
	logRead
)

// logInput is the porcupine input of one log operation.
type logInput struct {
	op     *Operation
	kind   logOpKind
	base   int64       // append: known base offset, or -1 (unplaced)
	n      int64       // append: batch size
	reads  *readLevels // append: the reads that must see each length
	known  *intervals  // unplaced append: offsets pinned by other batches
	size   int         // unplaced append: index of its batch size
	rank   uint32      // unplaced append: position in call order among unplaced appends of its size
	minLen int64       // read: highest offset returned + 1
	hw     int64       // read: reported high watermark (or listed offset), -1 if none
}

// logState is the log model's state: the length; how many reads that must
// see exactly this length have taken effect since the log reached it; and
// for each batch size of unplaced appends, how many have taken effect
// (little-endian uint32s in a string, so that the state is immutable and
// comparable with ==).
type logState struct {
	length int64
	seen   int32
	used   string
}

func (s logState) usedOf(size int) uint32 {
	return binary.LittleEndian.Uint32([]byte(s.used[4*size : 4*size+4]))
}

func (s logState) withUsed(size int, v uint32) string {
	b := []byte(s.used)
	binary.LittleEndian.PutUint32(b[4*size:], v)
	return string(b)
}

// readLevels counts, for each length, the reads that report it as their
// high watermark (or listed offset) and so must take effect at it.
type readLevels struct {
	count  map[int64]int32
	levels []int64 // the keys of count, sorted
}

func newReadLevels(ops []porcupine.Operation) *readLevels {
	r := &readLevels{count: make(map[int64]int32)}
	for _, op := range ops {
		if in := op.Input.(*logInput); in.kind == logRead && in.hw >= 0 {
			if r.count[in.hw] == 0 {
				r.levels = append(r.levels, in.hw)
			}
			r.count[in.hw]++
		}
	}
	slices.Sort(r.levels)
	return r
}

// inside reports whether some read must see a length strictly between lo
// and hi: a length no batch of hi-lo records can leave visible.
func (r *readLevels) inside(lo, hi int64) bool {
	k, _ := slices.BinarySearch(r.levels, lo+1)
	return k < len(r.levels) && r.levels[k] < hi
}

// intervals is a sorted list of disjoint half-open offset ranges.
type intervals struct{ start, end []int64 }

func newIntervals(start, end []int64) *intervals {
	idx := make([]int, len(start))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(start[x], start[y]) })
	iv := &intervals{}
	for _, i := range idx {
		if k := len(iv.start); k > 0 && start[i] <= iv.end[k-1] {
			iv.end[k-1] = max(iv.end[k-1], end[i])
			continue
		}
		iv.start = append(iv.start, start[i])
		iv.end = append(iv.end, end[i])
	}
	return iv
}

// overlaps reports whether [lo, hi) meets any interval.
func (iv *intervals) overlaps(lo, hi int64) bool {
	k, _ := slices.BinarySearch(iv.end, lo+1) // first interval with end > lo
	return k < len(iv.end) && iv.start[k] < hi
}

// logStep is the log model's step. With gateReads (the checking model) a
// produce waits for every read of the current length; without it (the
// diagnostic model, see checkSub) reads are not counted.
func logStep(gateReads bool, state, input any) (bool, any) {
	s := state.(logState)
	in := input.(*logInput)
	switch in.kind {
	case logAppend:
		if gateReads && (s.seen != in.reads.count[s.length] || in.reads.inside(s.length, s.length+in.n)) {
			return false, s
		}
		if in.base >= 0 {
			if s.length != in.base {
				return false, s
			}
			return true, logState{length: s.length + in.n, used: s.used}
		}
		if s.usedOf(in.size) != in.rank || in.known.overlaps(s.length, s.length+in.n) {
			return false, s
		}
		return true, logState{length: s.length + in.n, used: s.withUsed(in.size, in.rank+1)}
	case logRead:
		if s.length < in.minLen {
			return false, s
		}
		if in.hw < 0 {
			return true, s
		}
		if s.length != in.hw {
			return false, s
		}
		if !gateReads {
			return true, s
		}
		return true, logState{length: s.length, seen: s.seen + 1, used: s.used}
	default:
		panic(fmt.Sprintf("linearizability: unknown log op kind %d", in.kind))
	}
}

// newLogModel returns the log model for a sub-history whose unplaced
// appends come in sizes distinct batch sizes.
func newLogModel(sizes int, gateReads bool) porcupine.Model {
	zero := string(make([]byte, 4*sizes))
	return porcupine.Model{
		Init: func() any { return logState{used: zero} },
		Step: func(state, input, _ any) (bool, any) { return logStep(gateReads, state, input) },
		Hash: func(state any) uint64 {
			s := state.(logState)
			h := (uint64(s.length)*0x9e3779b97f4a7c15 ^ uint64(s.seen)) * 0xff51afd7ed558ccd
			for i := 0; i < len(s.used); i++ {
				h = (h ^ uint64(s.used[i])) * 0x100000001b3
			}
			return h
		},
		DescribeOperation: func(input, _ any) string {
			return describeOp(input.(*logInput).op)
		},
		DescribeOperationMetadata: describeMetadata,
		DescribeState:             func(state any) string { return fmt.Sprintf("length %d", state.(logState).length) },
	}
}

type offsetsInput struct {
	op      *Operation
	commit  bool
	unknown bool  // commit with an unknown outcome
	gen     int32 // commit
	offset  int64 // commit: offset committed; fetch: offset returned
}

type offsetsState struct {
	offset int64
	gen    int32
}

func offsetsStep(state, input, _ any) (bool, any) {
	s := state.(offsetsState)
	in := input.(*offsetsInput)
	if !in.commit {
		return s.offset == in.offset, s
	}
	if in.gen >= 0 && in.gen < s.gen {
		// Fenced: an ok commit cannot have been accepted here; an unknown
		// one was rejected here.
		return in.unknown, s
	}
	return true, offsetsState{offset: in.offset, gen: max(s.gen, in.gen)}
}

var offsetsModel = porcupine.Model{
	Init: func() any { return offsetsState{offset: -1, gen: -1} },
	Step: offsetsStep,
	Hash: func(state any) uint64 {
		s := state.(offsetsState)
		return (uint64(s.offset)*0x9e3779b97f4a7c15 ^ uint64(uint32(s.gen))) * 0xff51afd7ed558ccd
	},
	DescribeOperation: func(input, _ any) string {
		return describeOp(input.(*offsetsInput).op)
	},
	DescribeOperationMetadata: describeMetadata,
	DescribeState: func(state any) string {
		s := state.(offsetsState)
		return fmt.Sprintf("committed %d (generation %d)", s.offset, s.gen)
	},
}

// subHistory is one porcupine check: one partition of one model.
type subHistory struct {
	name  string // for files and messages: "log t/0", "offsets g t/0"
	file  string // file name stem, safe for any file system
	kind  AnomalyKind
	model porcupine.Model
	// diag is the model the failure diagnosis runs: the same verdicts, but
	// partial linearizations that read naturally (see checkSub).
	diag   porcupine.Model
	tp     TopicPartition
	group  string
	ops    []porcupine.Operation
	source []int // source[i]: history id of ops[i]
}

func (a *analysis) buildSubHistories(staleReads bool) []*subHistory {
	// Never-returning operations (unknown outcomes) return after every
	// time in the history.
	var last int64
	for i := range a.ops {
		last = max(last, a.ops[i].Call, a.ops[i].Return)
	}
	infinity := last + 1

	logs := make([]*subHistory, len(a.tps))
	// Offsets pinned by a known base, per partition.
	starts := make([][]int64, len(a.tps))
	ends := make([][]int64, len(a.tps))
	for i := range a.ops {
		if p, ok := a.ops[i].Input.(*Produce); ok && a.ops[i].Outcome != OutcomeFailed && a.opBase[i] >= 0 {
			tp := a.opTP[i]
			starts[tp] = append(starts[tp], a.opBase[i])
			ends[tp] = append(ends[tp], a.opBase[i]+int64(len(p.Records)))
		}
	}
	known := make([]*intervals, len(a.tps))
	for tp := range a.tps {
		known[tp] = newIntervals(starts[tp], ends[tp])
		logs[tp] = &subHistory{
			name: "log " + a.tps[tp].String(),
			file: fmt.Sprintf("log-%s-%d", a.tps[tp].Topic, a.tps[tp].Partition),
			kind: LogNotLinearizable,
			tp:   a.tps[tp],
		}
	}
	offsetsOf := make(map[groupTP]*subHistory)
	var offsets []*subHistory

	for i := range a.ops {
		op := &a.ops[i]
		ret := op.Return
		if op.Outcome == OutcomeUnknown {
			ret = infinity
		}
		var sh *subHistory
		var input any
		switch in := op.Input.(type) {
		case *Produce:
			if op.Outcome == OutcomeFailed {
				continue
			}
			tp := a.opTP[i]
			sh = logs[tp]
			input = &logInput{op: op, kind: logAppend, base: a.opBase[i], n: int64(len(in.Records)), known: known[tp]}
		case *Fetch:
			if op.Outcome != OutcomeOK {
				continue
			}
			out := op.Output.(*FetchResult)
			li := &logInput{op: op, kind: logRead, hw: out.HighWatermark}
			for _, r := range out.Records {
				li.minLen = max(li.minLen, r.Offset+1)
			}
			if staleReads && li.hw >= 0 {
				// A stale read: the high watermark was the length at some
				// instant before the fetch returned, so the length is at
				// least that much when the fetch takes effect.
				li.minLen, li.hw = max(li.minLen, li.hw), -1
			}
			if li.minLen == 0 && li.hw < 0 {
				continue // observed nothing about the length
			}
			sh, input = logs[a.opTP[i]], li
		case *ListOffsets:
			if op.Outcome != OutcomeOK {
				continue
			}
			sh = logs[a.opTP[i]]
			li := &logInput{op: op, kind: logRead, hw: op.Output.(*ListOffsetsResult).Offset}
			if staleReads {
				li.minLen, li.hw = li.hw, -1
			}
			input = li
		case *Commit:
			if op.Outcome == OutcomeFailed {
				continue
			}
			sh = offsetsSub(offsetsOf, &offsets, in.Group, TopicPartition{in.Topic, in.Partition})
			input = &offsetsInput{op: op, commit: true, unknown: op.Outcome == OutcomeUnknown, gen: in.Generation, offset: in.Offset}
		case *FetchCommitted:
			if op.Outcome != OutcomeOK {
				continue
			}
			sh = offsetsSub(offsetsOf, &offsets, in.Group, TopicPartition{in.Topic, in.Partition})
			input = &offsetsInput{op: op, offset: op.Output.(*FetchCommittedResult).Offset}
		case *Assign:
			continue
		default:
			panic(fmt.Sprintf("linearizability: unknown input type %T", in))
		}
		sh.ops = append(sh.ops, porcupine.Operation{ClientId: op.Client, Input: input, Call: op.Call, Return: ret, Metadata: op})
		sh.source = append(sh.source, i)
	}
	for _, sh := range logs {
		sizes := rankUnplaced(sh.ops)
		sh.model, sh.diag = newLogModel(sizes, true), newLogModel(sizes, false)
		reads := newReadLevels(sh.ops)
		for _, op := range sh.ops {
			op.Input.(*logInput).reads = reads
		}
	}
	var all []*subHistory
	for _, sh := range append(logs, offsets...) {
		if len(sh.ops) > 0 {
			denseClients(sh.ops)
			all = append(all, sh)
		}
	}
	return all
}

type groupTP struct {
	group string
	tp    TopicPartition
}

// rankUnplaced numbers the unplaced appends of a log sub-history in call
// order per batch size (ties broken by history order) and returns how
// many distinct sizes there are.
func rankUnplaced(ops []porcupine.Operation) int {
	var unplaced []*logInput
	for _, op := range ops {
		if in := op.Input.(*logInput); in.kind == logAppend && in.base < 0 {
			unplaced = append(unplaced, in)
		}
	}
	slices.SortStableFunc(unplaced, func(x, y *logInput) int {
		if c := cmp.Compare(x.n, y.n); c != 0 {
			return c
		}
		return cmp.Compare(x.op.Call, y.op.Call)
	})
	sizes := 0
	for i, in := range unplaced {
		if i > 0 && unplaced[i-1].n == in.n {
			in.size, in.rank = unplaced[i-1].size, unplaced[i-1].rank+1
			continue
		}
		in.size, in.rank = sizes, 0
		sizes++
	}
	return sizes
}

func offsetsSub(of map[groupTP]*subHistory, list *[]*subHistory, group string, tp TopicPartition) *subHistory {
	k := groupTP{group, tp}
	if sh, ok := of[k]; ok {
		return sh
	}
	sh := &subHistory{
		name:  fmt.Sprintf("offsets %s %s", group, tp),
		file:  fmt.Sprintf("offsets-%s-%s-%d", group, tp.Topic, tp.Partition),
		kind:  OffsetsNotLinearizable,
		model: offsetsModel,
		diag:  offsetsModel,
		tp:    tp,
		group: group,
	}
	of[k] = sh
	*list = append(*list, sh)
	return sh
}

// denseClients renumbers client ids 0..k-1 (in order of id) because
// porcupine's visualisation draws one row per id up to the largest.
func denseClients(ops []porcupine.Operation) {
	var ids []int
	for _, op := range ops {
		ids = append(ids, op.ClientId)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for i := range ops {
		ops[i].ClientId, _ = slices.BinarySearch(ids, ops[i].ClientId)
	}
}

type modelVerdict struct {
	tooLarge bool // not run: more than Config.MaxModelOperations
	result   porcupine.CheckResult
	stuck    int // history id of the first operation porcupine could not linearize, -1 if unknown
	path     string
	err      error
}

// modelChecks runs porcupine on every sub-history, cfg.ModelWorkers at a
// time, largest first, and reports failures in sub-history order.
func (a *analysis) modelChecks(col *collector, cfg Config) (int, error) {
	subs := a.buildSubHistories(cfg.StaleReads)
	verdicts := make([]modelVerdict, len(subs))
	order := make([]int, len(subs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(len(subs[y].ops), len(subs[x].ops)) })
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.ModelWorkers, len(subs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				verdicts[i] = checkSub(subs[i], i, cfg)
			}
		}()
	}
	for _, i := range order {
		work <- i
	}
	close(work)
	wg.Wait()

	for i, sh := range subs {
		v := verdicts[i]
		if v.err != nil {
			return 0, v.err
		}
		if !v.tooLarge && v.result == porcupine.Ok {
			continue
		}
		an := Anomaly{Kind: sh.kind, Partition: sh.tp, Group: sh.group, Offset: -1, VisualizationPath: v.path}
		if v.stuck >= 0 {
			an.Ops = []int{v.stuck}
		}
		switch {
		case v.tooLarge:
			an.Kind = ModelUndecided
			an.Ops = slices.Clone(sh.source[:1])
			an.Message = fmt.Sprintf("%s has %d operations, more than Config.MaxModelOperations (%d): not checked; spread the workload over more partitions", sh.name, len(sh.ops), cfg.MaxModelOperations)
		case v.result == porcupine.Unknown:
			an.Kind = ModelUndecided
			an.Message = fmt.Sprintf("porcupine did not decide %s (%d operations) within %v", sh.name, len(sh.ops), cfg.ModelTimeout)
		default:
			an.Message = fmt.Sprintf("%s (%d operations) is not linearizable", sh.name, len(sh.ops))
			if v.stuck >= 0 {
				an.Message += fmt.Sprintf("; no linearization gets past op %d: %s", v.stuck, describeOp(&a.ops[v.stuck]))
			}
		}
		col.add(an)
	}
	return len(subs), nil
}

// checkSub checks one sub-history. The fast check runs first; only a
// failure pays for a verbose re-run that yields partial linearizations (to
// name the stuck operation) and the visualisation. The re-run uses the
// diagnostic model: without the read gating, porcupine's longest partial
// linearization of a stale read is "the produce, then the read fails"
// rather than an empty one (the produce waiting for a read it cannot
// follow), which is what a reader of the visualisation expects. It decides
// the same histories, only more slowly, within the same time limit.
func checkSub(sh *subHistory, i int, cfg Config) modelVerdict {
	if len(sh.ops) > cfg.MaxModelOperations {
		return modelVerdict{tooLarge: true, stuck: -1}
	}
	res := porcupine.CheckOperationsTimeout(sh.model, sh.ops, cfg.ModelTimeout)
	if res == porcupine.Ok {
		return modelVerdict{result: res, stuck: -1}
	}
	_, info := porcupine.CheckOperationsVerbose(sh.diag, sh.ops, cfg.ModelTimeout)
	v := modelVerdict{result: res, stuck: sh.stuck(info)}
	if cfg.VisualizationDir != "" {
		v.path = filepath.Join(cfg.VisualizationDir, fmt.Sprintf("%03d-%s.html", i, safeFileName(sh.file)))
		if err := porcupine.VisualizePath(sh.diag, info, v.path); err != nil {
			v.err = fmt.Errorf("write visualization of %s: %w", sh.name, err)
		}
	}
	return v
}

// stuck returns the history id of the operation with the earliest return
// among those outside porcupine's longest partial linearization: the
// operation that, as far as porcupine got, could not be placed.
func (sh *subHistory) stuck(info porcupine.LinearizationInfo) int {
	partials := info.PartialLinearizations()
	if len(partials) == 0 {
		return -1
	}
	var longest []int
	for _, p := range partials[0] {
		if len(p) > len(longest) {
			longest = p
		}
	}
	in := make([]bool, len(sh.ops))
	for _, id := range longest {
		if id >= 0 && id < len(in) {
			in[id] = true
		}
	}
	best := -1
	for i := range sh.ops {
		if in[i] {
			continue
		}
		if best < 0 || sh.ops[i].Return < sh.ops[best].Return ||
			(sh.ops[i].Return == sh.ops[best].Return && sh.ops[i].Call < sh.ops[best].Call) {
			best = i
		}
	}
	if best < 0 {
		return -1
	}
	return sh.source[best]
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		default:
			return '_'
		}
	}, s)
}

// describeMetadata names the history operation behind a porcupine
// operation (porcupine's own client numbers are renumbered densely).
func describeMetadata(m any) string {
	op := m.(*Operation)
	return fmt.Sprintf("op %d, client %d", op.ID, op.Client)
}

// describeOp renders an operation in one short line for messages and
// visualisations.
func describeOp(op *Operation) string {
	var s string
	switch in := op.Input.(type) {
	case *Produce:
		vals := make([]string, 0, min(len(in.Records), 4))
		for i, r := range in.Records {
			if i == 3 {
				vals = append(vals, fmt.Sprintf("…+%d", len(in.Records)-3))
				break
			}
			vals = append(vals, r.Value)
		}
		s = fmt.Sprintf("produce %s [%s]", TopicPartition{in.Topic, in.Partition}, strings.Join(vals, " "))
		if op.Outcome == OutcomeOK {
			s += fmt.Sprintf(" → base %d", op.Output.(*ProduceResult).BaseOffset)
		}
	case *Fetch:
		s = fmt.Sprintf("fetch %s @%d", TopicPartition{in.Topic, in.Partition}, in.Offset)
		if op.Outcome == OutcomeOK {
			out := op.Output.(*FetchResult)
			if n := len(out.Records); n > 0 {
				s += fmt.Sprintf(" → %d records, offsets %d..%d", n, out.Records[0].Offset, out.Records[n-1].Offset)
			} else {
				s += " → no records"
			}
			if out.HighWatermark >= 0 {
				s += fmt.Sprintf(", hw %d", out.HighWatermark)
			}
		}
	case *ListOffsets:
		s = fmt.Sprintf("list offsets %s", TopicPartition{in.Topic, in.Partition})
		if op.Outcome == OutcomeOK {
			s += fmt.Sprintf(" → %d", op.Output.(*ListOffsetsResult).Offset)
		}
	case *Commit:
		s = fmt.Sprintf("commit %s %s gen %d offset %d", in.Group, TopicPartition{in.Topic, in.Partition}, in.Generation, in.Offset)
	case *FetchCommitted:
		s = fmt.Sprintf("fetch committed %s %s", in.Group, TopicPartition{in.Topic, in.Partition})
		if op.Outcome == OutcomeOK {
			s += fmt.Sprintf(" → %d", op.Output.(*FetchCommittedResult).Offset)
		}
	case *Assign:
		s = fmt.Sprintf("assign %s", in.Group)
		if op.Outcome == OutcomeOK {
			out := op.Output.(*AssignResult)
			s += fmt.Sprintf(" → %s gen %d %v", out.Member, out.Generation, out.Partitions)
		}
	default:
		panic(fmt.Sprintf("linearizability: unknown input type %T", in))
	}
	if op.Outcome != OutcomeOK {
		s += " (" + op.Outcome.String() + ")"
	}
	return s
}
