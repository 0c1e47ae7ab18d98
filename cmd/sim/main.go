// Command sim runs Tidemark's deterministic simulator (package sim).
//
//	sim run --seed N [--trace FILE] [--bug NAME] [--ops N] [--out DIR]
//	sim sweep --seeds A..B [--parallel P] [--ops N]
//	sim bugs [--cap N] [--starts K] [--ops N]
//
// Same seed, same commit: same trace hash. A failing run prints its seed,
// the commit and the command that replays it, and writes the history and
// porcupine's visualisation under --out.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	lin "github.com/tidemark/tidemark/linearizability"
	"github.com/tidemark/tidemark/sim"
)

func main() {
	// A run's heap is small and short-lived: collecting less often saves
	// about a quarter of the CPU (docs/simulation.md, measured figures).
	debug.SetGCPercent(400)
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "sweep":
		err = sweepCmd(os.Args[2:])
	case "bugs":
		err = bugsCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sim:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sim run --seed N [--trace FILE] [--bug NAME] [--ops N] [--out DIR]\n       sim sweep --seeds A..B [--parallel P] [--ops N]\n       sim bugs [--cap N] [--starts K] [--ops N]")
	os.Exit(2)
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// errFailed: a run failed (exit status 1 after the report is printed).
var errFailed = fmt.Errorf("run failed")

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "the seed")
	tracePath := fs.String("trace", "", "write the full trace to this file")
	bugName := fs.String("bug", "", "enable this planted bug")
	ops := fs.Int("ops", sim.DefaultMaxOps, "client operations")
	out := fs.String("out", "sim-failures", "directory for a failure's history and visualisation")
	machine := fs.Bool("machine", false, "print one machine-readable line (used by sweep)")
	_ = fs.Parse(args)
	opts := sim.Options{Seed: *seed, MaxOps: *ops}
	if *bugName != "" {
		b, err := sim.ParseBug(*bugName)
		if err != nil {
			return err
		}
		opts.Bugs = []sim.Bug{b}
	}
	var tw *bufio.Writer
	if *tracePath != "" {
		f, err := os.Create(*tracePath)
		if err != nil {
			return err
		}
		defer f.Close()
		tw = bufio.NewWriter(f)
		defer tw.Flush()
		opts.Trace = tw
	}
	dir := filepath.Join(*out, fmt.Sprintf("seed-%d", *seed))
	if !*machine {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			opts.VisualizationDir = dir
		}
	}
	rep := sim.Run(opts)
	if *machine {
		var faults []string
		for _, n := range rep.Faults {
			faults = append(faults, strconv.Itoa(n))
		}
		fmt.Printf("RESULT seed=%d ok=%v hash=%016x faults=%s\n", rep.Seed, rep.Failure == nil, rep.TraceHash, strings.Join(faults, ","))
		if rep.Failure != nil {
			return errFailed
		}
		return nil
	}
	fmt.Printf("seed %d\n%s\n", rep.Seed, rep.Params)
	fmt.Print(rep.Summary())
	if rep.Failure != nil {
		fmt.Printf("seed: %d\ncommit: %s\nreplay: go run ./cmd/sim run --seed %d", rep.Seed, commit(), rep.Seed)
		if *bugName != "" {
			fmt.Printf(" --bug %s", *bugName)
		}
		fmt.Printf(" --ops %d --trace trace-%d.txt\n", *ops, rep.Seed)
		if b, err := lin.EncodeHistory(rep.History); err == nil {
			p := filepath.Join(dir, "history.json")
			if os.WriteFile(p, b, 0o644) == nil {
				fmt.Printf("history: %s\n", p)
			}
		}
		fmt.Printf("visualisations (if a model failed): %s\n", dir)
	} else {
		_ = os.Remove(dir)  // empty unless a model wrote into it
		_ = os.Remove(*out) // and its parent, if nothing else is there
	}
	fmt.Printf("trace hash %016x\n", rep.TraceHash)
	if rep.Failure != nil {
		return errFailed
	}
	return nil
}

func parseRange(s string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		return 0, 0, fmt.Errorf("--seeds wants A..B, got %q", s)
	}
	lo, err1 := strconv.ParseUint(a, 10, 64)
	hi, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || hi < lo {
		return 0, 0, fmt.Errorf("--seeds wants A..B with A <= B, got %q", s)
	}
	return lo, hi, nil
}

// sweepCmd runs seeds in child processes (crypto/rand.Reader, which etcd
// raft's election jitter reads, is process-wide, so one process runs one
// seed at a time).
func sweepCmd(args []string) error {
	fs := flag.NewFlagSet("sweep", flag.ExitOnError)
	seeds := fs.String("seeds", "1..100", "seed range A..B")
	parallel := fs.Int("parallel", 1, "seeds run at once")
	ops := fs.Int("ops", sim.DefaultMaxOps, "client operations per seed")
	_ = fs.Parse(args)
	lo, hi, err := parseRange(*seeds)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	start := time.Now()
	var (
		mu       sync.Mutex
		passed   int
		failed   []uint64
		coverage = make([]int, len(sim.FaultNames()))
	)
	next := lo
	var wg sync.WaitGroup
	for range max(*parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next > hi {
					mu.Unlock()
					return
				}
				seed := next
				next++
				mu.Unlock()
				cmd := exec.Command(self, "run", "--machine", "--seed", strconv.FormatUint(seed, 10), "--ops", strconv.Itoa(*ops))
				var out bytes.Buffer
				cmd.Stdout = &out
				runErr := cmd.Run()
				line := ""
				for _, l := range strings.Split(out.String(), "\n") {
					if strings.HasPrefix(l, "RESULT ") {
						line = l
					}
				}
				mu.Lock()
				if runErr == nil && strings.Contains(line, "ok=true") {
					passed++
				} else {
					failed = append(failed, seed)
				}
				if _, f, ok := strings.Cut(line, "faults="); ok {
					for i, n := range strings.Split(f, ",") {
						if v, err := strconv.Atoi(n); err == nil && v > 0 && i < len(coverage) {
							coverage[i]++
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := int(hi - lo + 1)
	fmt.Printf("%-10s %d\n%-10s %d\n%-10s %d %v\n", "seeds", total, "passed", passed, "failed", len(failed), failed)
	fmt.Printf("%-10s %.0f (parallel %d, %.1fs)\n", "seeds/min", float64(total)/elapsed.Minutes(), *parallel, elapsed.Seconds())
	fmt.Println("fault coverage (seeds in which each fault fired):")
	for i, name := range sim.FaultNames() {
		fmt.Printf("  %-17s %d\n", name, coverage[i])
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d seeds failed; replay one with: go run ./cmd/sim run --seed %d", len(failed), failed[0])
	}
	return nil
}

// bugsCmd hunts each planted bug from several starting seeds (start k
// begins at seed 1+k*cap, so the hunts share no seed) and reports how many
// seeds each hunt needed: the median and the worst, and the checker that
// caught it first.
func bugsCmd(args []string) error {
	fs := flag.NewFlagSet("bugs", flag.ExitOnError)
	limit := fs.Int("cap", 1000, "seeds tried per hunt")
	starts := fs.Int("starts", 5, "hunts per bug, from disjoint seed ranges")
	ops := fs.Int("ops", sim.DefaultMaxOps, "client operations per seed")
	_ = fs.Parse(args)
	fmt.Printf("%-25s %-8s %-13s %-12s %-10s %s\n", "bug", "caught", "median-seeds", "worst-seeds", "sim-ms", "checker (first hunt)")
	missed := 0
	for _, b := range sim.Bugs {
		var needed []int
		caught, ticks, checker := 0, int64(0), ""
		for k := range max(*starts, 1) {
			h := sim.HuntBug(b, 1+uint64(k**limit), *limit, *ops)
			needed = append(needed, h.Seeds)
			if h.Caught {
				caught++
				if checker == "" {
					checker, ticks = h.Checker, h.Ticks
				}
			}
		}
		if caught < len(needed) {
			missed++
		}
		sort.Ints(needed)
		fmt.Printf("%-25s %-8s %-13d %-12d %-10d %s\n", b, fmt.Sprintf("%d/%d", caught, len(needed)),
			needed[len(needed)/2], needed[len(needed)-1], ticks, checker)
	}
	if missed > 0 {
		return fmt.Errorf("%d planted bugs escaped a hunt of %d seeds", missed, *limit)
	}
	return nil
}
