package sim

import (
	"testing"
)

// TestDeterminism: a seed run twice gives the same trace hash and the same
// history.
func TestDeterminism(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		a := Run(Options{Seed: seed, MaxOps: 300})
		b := Run(Options{Seed: seed, MaxOps: 300})
		if a.TraceHash != b.TraceHash || a.Events != b.Events || len(a.History.Operations) != len(b.History.Operations) {
			t.Errorf("seed %d diverged: hash %x vs %x, events %d vs %d", seed, a.TraceHash, b.TraceHash, a.Events, b.Events)
		}
	}
}

// TestCanaryNondeterministicCrypto: without the seeded crypto/rand reader,
// etcd raft's election jitter is really random and runs of one seed
// diverge. This proves the determinism test is not vacuous and that the
// reader is what makes elections deterministic.
func TestCanaryNondeterministicCrypto(t *testing.T) {
	seen := make(map[uint64]bool)
	for range 4 {
		rep := Run(Options{Seed: 1, MaxOps: 200, nondeterministicCrypto: true})
		seen[rep.TraceHash] = true
	}
	if len(seen) < 2 {
		t.Fatalf("4 runs of seed 1 with crypto/rand left alone gave one trace hash: the canary did not diverge")
	}
}

// TestSweep: at least 100 seeds pass every checker.
func TestSweep(t *testing.T) {
	const seeds = 100
	for seed := uint64(1); seed <= seeds; seed++ {
		rep := Run(Options{Seed: seed, MaxOps: 500})
		if rep.Failure != nil {
			t.Errorf("seed %d: %v\nreplay: go run ./cmd/sim run --seed %d --ops 500", seed, rep.Failure, seed)
		}
	}
}

// bugCaps is how many seeds TestPlantedBugs allows each bug (kept small so
// make test stays fast; `sim bugs` measures with the cap of 1,000).
var bugCaps = map[Bug]int{
	BugAckBeforeCommit:       20,
	BugFetchPastHW:           20,
	BugSkipDedupe:            40,
	BugAckWithoutFsync:       40,
	BugStaleGenerationCommit: 60,
	BugDeposedLeaderServes:   20,
	BugDoubleAssign:          60,
}

// TestPlantedBugs: every planted bug is caught within its cap.
func TestPlantedBugs(t *testing.T) {
	for _, b := range Bugs {
		h := HuntBug(b, 1, bugCaps[b], 0)
		if !h.Caught {
			t.Errorf("%s not caught within %d seeds", b, bugCaps[b])
			continue
		}
		t.Logf("%s: caught by %s at seed %d after %d seeds, %d simulated ms", b, h.Checker, h.Seed, h.Seeds, h.Ticks)
	}
}

// TestBugsOffByDefault: no planted bug is enabled without naming it.
func TestBugsOffByDefault(t *testing.T) {
	var none bugSet
	for _, b := range Bugs {
		if none.has(b) {
			t.Fatalf("%s enabled in an empty set", b)
		}
		if _, err := ParseBug(string(b)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ParseBug("no-such-bug"); err == nil {
		t.Fatal("ParseBug accepted an unknown name")
	}
}

// BenchmarkSeed runs 3-broker seeds of 1,000 client operations each (the
// other parameters and faults as each seed draws) and reports seeds per
// minute and simulated time over real time. Run it with -cpu 1 for the
// per-core figure.
func BenchmarkSeed(b *testing.B) {
	var simMs int64
	var ops int
	seed := uint64(0)
	for i := 0; i < b.N; i++ {
		seed++
		rep := Run(Options{Seed: seed, MaxOps: 1000, benchShape: true})
		if rep.Failure != nil {
			b.Fatalf("seed %d: %v", seed, rep.Failure)
		}
		simMs += rep.SimulatedMs
		ops += rep.Ops
	}
	el := b.Elapsed()
	b.ReportMetric(float64(b.N)/el.Minutes(), "seeds/min")
	b.ReportMetric(float64(simMs)/float64(el.Milliseconds()), "sim/real")
	b.ReportMetric(float64(ops)/float64(b.N), "ops/seed")
}
