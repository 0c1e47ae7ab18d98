package linearizability

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func drawGenConfig(t *rapid.T) genConfig {
	return genConfig{
		clients:    rapid.IntRange(1, 5).Draw(t, "clients"),
		partitions: rapid.IntRange(1, 2).Draw(t, "partitions"),
		ops:        rapid.IntRange(0, 80).Draw(t, "ops"),
		unknownPct: rapid.IntRange(0, 30).Draw(t, "unknownPct"),
		failPct:    rapid.IntRange(0, 20).Draw(t, "failPct"),
		groups:     rapid.Bool().Draw(t, "groups"),
		maxBatch:   rapid.IntRange(1, 3).Draw(t, "maxBatch"),
		maxFetch:   rapid.IntRange(1, 5).Draw(t, "maxFetch"),
		finalReads: true,
	}
}

func dump(h History) string {
	b, err := EncodeHistory(h)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Histories generated from the sequential model, with overlapping
// operations, unknown outcomes that did or did not apply, and failures,
// pass every check.
func TestGeneratedHistoriesPass(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := generate(rapidChooser{t}, drawGenConfig(t))
		res, err := Check(h, Config{})
		if err != nil {
			t.Fatalf("check: %v\n%s", err, dump(h))
		}
		if !res.OK() {
			t.Fatalf("valid history rejected: %s\n%s", res.String(), dump(h))
		}
	})
}

// finalRead returns the index of the last ok fetch of t/0 at offset 0:
// the generator's full read of partition 0 after everything applied.
func finalRead(h History) int {
	for i := len(h.Operations) - 1; i >= 0; i-- {
		op := &h.Operations[i]
		if in, ok := op.Input.(*Fetch); ok && op.Outcome == OutcomeOK && in.Partition == 0 && in.Offset == 0 {
			return i
		}
	}
	panic("no final read")
}

// withFetch returns a copy of h in which operation i's fetch result is a
// fresh copy, safe to mutate.
func withFetch(h History, i int) (History, *FetchResult) {
	ops := slices.Clone(h.Operations)
	out := *ops[i].Output.(*FetchResult)
	out.Records = slices.Clone(out.Records)
	ops[i].Output = &out
	return History{Operations: ops}, &out
}

// ackedValues maps the acknowledged values of t/0 to their offsets.
func ackedValues(h History) map[string]int64 {
	acked := make(map[string]int64)
	for _, op := range h.Operations {
		if p, ok := op.Input.(*Produce); ok && op.Outcome == OutcomeOK && p.Partition == 0 {
			for j, r := range p.Records {
				acked[r.Value] = op.Output.(*ProduceResult).BaseOffset + int64(j)
			}
		}
	}
	return acked
}

// mutate applies one named mutation to a generated history and returns the
// kinds of which at least one must be reported.
func mutate(t *rapid.T, h History, mutation string) (History, []AnomalyKind) {
	f := finalRead(h)
	n := len(h.Operations[f].Output.(*FetchResult).Records)
	if n < 2 {
		t.Fatalf("final read has %d records; the generator promises at least 2", n)
	}
	acked := ackedValues(h)
	switch mutation {
	case "drop-record":
		// Drop a record that is not the last one returned: a gap.
		m, out := withFetch(h, f)
		i := rapid.IntRange(0, n-2).Draw(t, "drop")
		out.Records = slices.Delete(out.Records, i, i+1)
		return m, []AnomalyKind{PollSkip}
	case "lose-write":
		// Remove every read of an acknowledged value below the highest
		// offset read.
		last := h.Operations[f].Output.(*FetchResult).Records[n-1].Offset
		var candidates []string
		for v, off := range acked {
			if off < last {
				candidates = append(candidates, v)
			}
		}
		slices.Sort(candidates)
		if len(candidates) == 0 {
			t.Fatalf("no acknowledged value below offset %d; the generator promises one", last)
		}
		v := rapid.SampledFrom(candidates).Draw(t, "lose")
		m := History{Operations: slices.Clone(h.Operations)}
		for i := range m.Operations {
			if _, ok := m.Operations[i].Input.(*Fetch); !ok || m.Operations[i].Outcome != OutcomeOK {
				continue
			}
			var out *FetchResult
			m, out = withFetch(m, i)
			out.Records = slices.DeleteFunc(out.Records, func(r FetchedRecord) bool { return r.Value == v })
		}
		return m, []AnomalyKind{LostWrite}
	case "swap-values":
		// Swap two records' values, at least one of them acknowledged.
		var pairs [][2]int
		recs := h.Operations[f].Output.(*FetchResult).Records
		for i := range recs {
			for j := i + 1; j < len(recs); j++ {
				_, ai := acked[recs[i].Value]
				_, aj := acked[recs[j].Value]
				if ai || aj {
					pairs = append(pairs, [2]int{i, j})
				}
			}
		}
		if len(pairs) == 0 {
			t.Fatalf("no pair to swap")
		}
		p := rapid.SampledFrom(pairs).Draw(t, "swap")
		m, out := withFetch(h, f)
		a, b := &out.Records[p[0]], &out.Records[p[1]]
		a.Key, a.Value, b.Key, b.Value = b.Key, b.Value, a.Key, a.Value
		return m, []AnomalyKind{Duplicate, InconsistentOffsets}
	case "duplicate-value":
		// Put one record's value at another record's offset too.
		i := rapid.IntRange(0, n-1).Draw(t, "from")
		j := rapid.IntRange(0, n-2).Draw(t, "to")
		if j >= i {
			j++
		}
		m, out := withFetch(h, f)
		out.Records[j].Key, out.Records[j].Value = out.Records[i].Key, out.Records[i].Value
		return m, []AnomalyKind{Duplicate}
	case "lower-hw":
		m, out := withFetch(h, f)
		out.HighWatermark--
		return m, []AnomalyKind{ReadPastHighWatermark}
	case "corrupt-committed":
		for i := len(h.Operations) - 1; i >= 0; i-- {
			if _, ok := h.Operations[i].Input.(*FetchCommitted); ok && h.Operations[i].Outcome == OutcomeOK {
				ops := slices.Clone(h.Operations)
				ops[i].Output = &FetchCommittedResult{Offset: 1 << 40} // never committed
				return History{Operations: ops}, []AnomalyKind{OffsetsNotLinearizable}
			}
		}
		t.Fatalf("no fetch_committed; the generator promises one with groups on")
	}
	panic("unknown mutation " + mutation)
}

// The same generated histories with one mutation fail, with an anomaly of
// the kind the mutation must cause.
func TestMutatedHistoriesFail(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawGenConfig(t)
		h := generate(rapidChooser{t}, cfg)
		mutations := []string{"drop-record", "lose-write", "swap-values", "duplicate-value", "lower-hw"}
		if cfg.groups {
			mutations = append(mutations, "corrupt-committed")
		}
		mutation := rapid.SampledFrom(mutations).Draw(t, "mutation")
		m, want := mutate(t, h, mutation)
		res, err := Check(m, Config{})
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		got := res.Kinds()
		if !slices.ContainsFunc(want, func(k AnomalyKind) bool { return slices.Contains(got, k) }) {
			t.Fatalf("mutation %s: got kinds %v, want one of %v\n%s\n%s", mutation, got, want, res.String(), dump(m))
		}
	})
}

// The generator itself must produce what the properties rely on: overlap,
// unknown outcomes and failures actually occur.
func TestGeneratorCoverage(t *testing.T) {
	var overlapping, unknown, failed, applied int
	for seed := range 50 {
		h := generate(seeded(uint64(seed)), genConfig{clients: 4, partitions: 2, ops: 60, unknownPct: 15, failPct: 10, groups: true, maxBatch: 3, maxFetch: 4, finalReads: true})
		res, err := Check(h, Config{})
		if err != nil || !res.OK() {
			t.Fatalf("seed %d: %v %s", seed, err, res.String())
		}
		a, _ := analyze(&h)
		a.place(newCollector(1))
		for i, op := range h.Operations {
			switch op.Outcome {
			case OutcomeUnknown:
				unknown++
				if _, ok := op.Input.(*Produce); ok && a.opBase[i] >= 0 {
					applied++
				}
			case OutcomeFailed:
				failed++
			}
			if i > 0 && op.Call < h.Operations[i-1].Return && op.Outcome == OutcomeOK && h.Operations[i-1].Outcome == OutcomeOK {
				overlapping++
			}
		}
	}
	if overlapping == 0 || unknown == 0 || failed == 0 || applied == 0 {
		t.Fatalf("generator lacks variety: overlapping %d, unknown %d (of which produces seen applied %d), failed %d", overlapping, unknown, applied, failed)
	}
	t.Logf("overlapping pairs %d, unknown %d (produces seen applied %d), failed %d", overlapping, unknown, applied, failed)
}

func seeded(seed uint64) chooser {
	return randChooser{newRand(seed)}
}

// A deterministic sweep over generator settings, larger than the rapid
// properties draw: every generated history passes.
func TestSeededSweep(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 50
	}
	for seed := range seeds {
		cfg := genConfig{
			clients: 1 + seed%8, partitions: 1 + seed%3, ops: 50 + seed%300,
			unknownPct: seed % 40, failPct: seed % 17, groups: seed%2 == 0,
			maxBatch: 1 + seed%4, maxFetch: 1 + seed%6, finalReads: seed%3 != 0,
		}
		h := generate(seeded(uint64(seed)), cfg)
		res, err := Check(h, Config{})
		if err != nil || !res.OK() {
			t.Fatalf("seed %d %+v: %v %s\n%s", seed, cfg, err, res.String(), dump(h))
		}
	}
}
