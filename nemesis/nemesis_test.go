package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	lin "github.com/tidemark/tidemark/linearizability"
)

// brokerBinary is bin/broker built by TestMain into a temp dir, so the
// test runs the tree's code and not a stale binary
// (TIDEMARK_NEMESIS_BROKER names a prebuilt one instead).
var brokerBinary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if b := os.Getenv("TIDEMARK_NEMESIS_BROKER"); b != "" {
		// A prebuilt broker: to replay a failure against the binary that
		// showed it, or while the tree does not build.
		brokerBinary = b
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "nemesis-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	brokerBinary = filepath.Join(dir, "broker")
	out, err := exec.Command("go", "build", "-o", brokerBinary, "github.com/tidemark/tidemark/cmd/broker").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build bin/broker: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func TestScheduleIsDeterministicAndCoversEveryKind(t *testing.T) {
	a := Schedule(rand.New(rand.NewPCG(7, 7)), FaultKinds, 30*time.Second)
	b := Schedule(rand.New(rand.NewPCG(7, 7)), FaultKinds, 30*time.Second)
	if !slices.Equal(a, b) {
		t.Fatalf("one seed, two schedules:\n%v\n%v", a, b)
	}
	var total time.Duration
	for _, k := range FaultKinds {
		if !slices.ContainsFunc(a, func(f Fault) bool { return f.Kind == k }) {
			t.Errorf("schedule lacks %s: %v", k, a)
		}
	}
	for _, f := range a {
		if f.Hold < minHold || f.Hold >= maxHold || f.Gap < minGap || f.Gap >= maxGap {
			t.Errorf("fault %+v outside the hold/gap bounds", f)
		}
		total += f.Hold + f.Gap
	}
	if total < 30*time.Second {
		t.Errorf("schedule lasts %v, want at least 30s", total)
	}
	c := Schedule(rand.New(rand.NewPCG(8, 8)), FaultKinds, 30*time.Second)
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 drew the same schedule")
	}
}

// shortFaultPhase: with every kind played once (about 70 s with settling
// on this machine) the whole run is about two minutes.
const shortFaultPhase = 30 * time.Second

// TestShortRun is make test's fault run: 3 brokers, one schedule with
// every fault kind, then the full history check. The seed is drawn from
// the clock and printed; TIDEMARK_NEMESIS_SEED replays one. On a failure
// the artefacts stay in the printed directory.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("real-cluster fault run: skipped with -short")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TIDEMARK_NEMESIS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TIDEMARK_NEMESIS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay: TIDEMARK_NEMESIS_SEED=%d go test -run TestShortRun ./nemesis, or go run ./cmd/nemesis -seeds %d)", seed, seed, seed)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Binary: brokerBinary, Seed: seed, Brokers: 3, Faults: shortFaultPhase, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.SkippedKinds) > 0 {
		t.Logf("NOT PLAYED (need root and ip for network namespaces): %v", rep.SkippedKinds)
	}
	t.Logf("%d operations (%d ok, %d failed, %d unknown), faults %v, %d model checks, %v",
		rep.Operations, rep.Outcomes[lin.OutcomeOK], rep.Outcomes[lin.OutcomeFailed], rep.Outcomes[lin.OutcomeUnknown], rep.Faults, rep.Result.ModelChecks, rep.Elapsed.Round(time.Second))
	for _, k := range FaultKinds {
		if rep.Faults[k] == 0 && !slices.Contains(rep.SkippedKinds, k) {
			t.Errorf("fault kind %s was never played", k)
		}
	}
	if !rep.OK() {
		t.Fatalf("seed %d: %s\nartefacts in %s", seed, rep.Result.String(), rep.Dir)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-min(1, len(p))]))
	return len(p), nil
}
