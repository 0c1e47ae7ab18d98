package linearizability

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

func TestIntervals(t *testing.T) {
	iv := newIntervals([]int64{10, 0, 3, 12, 20}, []int64{12, 2, 5, 15, 21})
	// merged: [0,2) [3,5) [10,15) [20,21)
	if !slices.Equal(iv.start, []int64{0, 3, 10, 20}) || !slices.Equal(iv.end, []int64{2, 5, 15, 21}) {
		t.Fatalf("merged to %v %v", iv.start, iv.end)
	}
	for _, tc := range []struct {
		lo, hi int64
		want   bool
	}{
		{0, 1, true}, {2, 3, false}, {2, 4, true}, {5, 10, false}, {5, 11, true},
		{14, 15, true}, {15, 20, false}, {21, 100, false}, {1, 2, true},
	} {
		if got := iv.overlaps(tc.lo, tc.hi); got != tc.want {
			t.Errorf("overlaps(%d, %d) = %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
	if newIntervals(nil, nil).overlaps(0, 5) {
		t.Error("empty set overlaps")
	}
}

func op(client int, call, ret int64, outcome Outcome, in Input, out Output) Operation {
	return Operation{Client: client, Call: call, Return: ret, Outcome: outcome, Input: in, Output: out}
}

func history(ops ...Operation) History {
	for i := range ops {
		ops[i].ID = i
	}
	return History{Operations: ops}
}

func produce(vals ...string) *Produce {
	p := &Produce{Topic: "t"}
	for _, v := range vals {
		p.Records = append(p.Records, Record{Value: v})
	}
	return p
}

// Unplaced unknown produces of one size are tried in call order. Suppose
// the real execution applied b (called later) at offset 0 and never a: the
// model fills the gap with a instead, which no operation can tell apart
// (the swap argument in models.go), and must accept the history.
func TestUnplacedProducesAreInterchangeable(t *testing.T) {
	h := history(
		op(0, 0, 0, OutcomeUnknown, produce("a"), nil),
		op(1, 5, 0, OutcomeUnknown, produce("b"), nil),
		op(2, 6, 7, OutcomeOK, produce("c"), &ProduceResult{BaseOffset: 1}),
		op(3, 8, 9, OutcomeOK, &Fetch{Topic: "t", Offset: 1}, &FetchResult{Records: []FetchedRecord{{Offset: 1, Value: "c"}}, HighWatermark: 2}),
		op(4, 1, 3, OutcomeOK, &ListOffsets{Topic: "t"}, &ListOffsetsResult{Offset: 0}),
	)
	res, err := Check(h, Config{})
	if err != nil || !res.OK() {
		t.Fatalf("%v %s", err, res.String())
	}
	// With only one unplaced produce, and it called after the gap had to
	// be filled (the fetch at 2..3 needs length 1 before c at 6), it fails.
	h = history(
		op(0, 10, 0, OutcomeUnknown, produce("a"), nil),
		op(2, 0, 7, OutcomeOK, produce("c"), &ProduceResult{BaseOffset: 1}),
		op(3, 2, 3, OutcomeOK, &ListOffsets{Topic: "t"}, &ListOffsetsResult{Offset: 1}),
	)
	res, err = Check(h, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Kinds(), []AnomalyKind{LogNotLinearizable}) {
		t.Fatalf("got %s", res.String())
	}
}

// porcupine's Unknown (time limit hit) is a failure with its own kind,
// never a pass, and it still gets a visualisation.
func TestModelTimeoutIsAFailure(t *testing.T) {
	// 40 concurrent unknown produces of distinct sizes (so the model
	// cannot order them) that nobody read, and a fetch that claims a
	// length no subset of them can reach: porcupine must explore the
	// subsets, far more than it can in 200 ms.
	var ops []Operation
	for i := range 40 {
		p := &Produce{Topic: "t"}
		for j := range i + 1 {
			p.Records = append(p.Records, Record{Value: fmt.Sprintf("v%d-%d", i, j)})
		}
		ops = append(ops, op(i, 0, 0, OutcomeUnknown, p, nil))
	}
	ops = append(ops, op(40, 1, 2, OutcomeOK, &ListOffsets{Topic: "t"}, &ListOffsetsResult{Offset: 1 << 40}))
	h := history(ops...)
	dir := t.TempDir()
	res, err := CheckModels(h, Config{ModelTimeout: 200 * time.Millisecond, VisualizationDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Kinds(), []AnomalyKind{ModelUndecided}) {
		t.Fatalf("got %s", res.String())
	}
	if _, err := os.Stat(res.Anomalies[0].VisualizationPath); err != nil {
		t.Errorf("no visualisation: %v", err)
	}
}

func TestMaxAnomaliesPerKind(t *testing.T) {
	// One fetch returns ten values nobody produced.
	out := &FetchResult{HighWatermark: 10}
	for i := range 10 {
		out.Records = append(out.Records, FetchedRecord{Offset: int64(i), Value: fmt.Sprintf("v%d", i)})
	}
	h := history(op(0, 0, 1, OutcomeOK, &Fetch{Topic: "t"}, out))
	res, err := CheckLinear(h, Config{MaxAnomaliesPerKind: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Anomalies) != 3 || res.Suppressed[PhantomValue] != 7 || res.OK() {
		t.Fatalf("got %d listed, suppressed %v", len(res.Anomalies), res.Suppressed)
	}
	if !slices.Equal(res.Kinds(), []AnomalyKind{PhantomValue}) {
		t.Fatalf("kinds %v", res.Kinds())
	}
}

// Commits outside group management (generation -1) are not fenced, and
// do not raise the generation.
func TestSimpleCommitNotFenced(t *testing.T) {
	h := history(
		op(0, 0, 1, OutcomeOK, &Assign{Group: "g"}, &AssignResult{Member: "m", Generation: 3}),
		op(1, 2, 3, OutcomeOK, &Commit{Group: "g", Topic: "t", Generation: -1, Offset: 4}, &CommitResult{}),
		op(1, 4, 5, OutcomeOK, &FetchCommitted{Group: "g", Topic: "t"}, &FetchCommittedResult{Offset: 4}),
		op(0, 6, 7, OutcomeOK, &Commit{Group: "g", Topic: "t", Generation: 3, Offset: 5}, &CommitResult{}),
	)
	res, err := Check(h, Config{})
	if err != nil || !res.OK() {
		t.Fatalf("%v %s", err, res.String())
	}
}

// An unknown commit at a fenced generation is a rejected no-op, not an
// anomaly.
func TestUnknownStaleCommitIsNoOp(t *testing.T) {
	h := history(
		op(0, 0, 1, OutcomeOK, &Commit{Group: "g", Topic: "t", Generation: 2, Offset: 4}, &CommitResult{}),
		op(1, 2, 0, OutcomeUnknown, &Commit{Group: "g", Topic: "t", Generation: 1, Offset: 9}, nil),
		op(0, 3, 4, OutcomeOK, &FetchCommitted{Group: "g", Topic: "t"}, &FetchCommittedResult{Offset: 4}),
	)
	res, err := Check(h, Config{})
	if err != nil || !res.OK() {
		t.Fatalf("%v %s", err, res.String())
	}
}

// The checker is deterministic: the same history gives the same result.
func TestDeterministic(t *testing.T) {
	h := generate(seeded(7), genConfig{clients: 6, partitions: 3, ops: 400, unknownPct: 10, failPct: 5, groups: true, maxBatch: 3, maxFetch: 4, finalReads: true})
	// Break it in several ways so that the result is not empty.
	f := finalRead(h)
	out := *h.Operations[f].Output.(*FetchResult)
	out.Records = slices.Clone(out.Records)
	out.Records = slices.Delete(out.Records, 1, 2)
	out.Records[0].Value = out.Records[2].Value
	h.Operations[f].Output = &out
	first, err := Check(h, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if first.OK() {
		t.Fatal("broken history accepted")
	}
	for range 5 {
		again, err := Check(h, Config{ModelWorkers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if again.String() != first.String() {
			t.Fatalf("results differ:\n%s\n%s", first.String(), again.String())
		}
	}
}

// A sub-history over Config.MaxModelOperations is not checked, and that
// is a failure, not a pass.
func TestTooLargeForModelIsAFailure(t *testing.T) {
	h := generate(seeded(3), genConfig{clients: 3, partitions: 1, ops: 60, maxBatch: 2, maxFetch: 3})
	res, err := CheckModels(h, Config{MaxModelOperations: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Kinds(), []AnomalyKind{ModelUndecided}) || len(res.Anomalies[0].Ops) != 1 {
		t.Fatalf("got %s", res.String())
	}
	res, err = CheckModels(h, Config{})
	if err != nil || !res.OK() {
		t.Fatalf("%v %s", err, res.String())
	}
}
