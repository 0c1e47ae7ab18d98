// Command nemesis runs a campaign of real-cluster fault tests (package
// nemesis): one run per seed, each a fresh bin/broker cluster under its own
// fault schedule, and prints a summary table. It exits 1 if any run found
// an anomaly or could not complete; the artefacts of such runs are kept and
// their paths printed.
//
//	nemesis -duration 2m -runs 10              # seeds drawn from the clock, printed
//	nemesis -seeds 42,1337 -brokers 5          # replay given seeds
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	lin "github.com/tidemark/tidemark/linearizability"
	"github.com/tidemark/tidemark/nemesis"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		binary   = flag.String("broker", "./bin/broker", "path to bin/broker")
		duration = flag.Duration("duration", 2*time.Minute, "fault phase of each run (holds and gaps; settling adds to it)")
		runs     = flag.Int("runs", 1, "number of runs when -seeds is empty")
		seedList = flag.String("seeds", "", "comma-separated seeds to run (replays a failing schedule); empty: draw -runs seeds")
		brokers  = flag.Int("brokers", 3, "brokers per cluster (3 or 5)")
		dir      = flag.String("dir", "", "where run directories are created (default: the system temp dir)")
		keep     = flag.Bool("keep", false, "keep every run's directory, not only failing ones")
		noNetns  = flag.Bool("no-netns", false, "run on loopback without network namespaces (no partition faults)")
		kinds    = flag.String("faults", "", "comma-separated fault kinds to play (default all): "+kindNames())
	)
	flag.Parse()
	if *brokers != 3 && *brokers != 5 {
		fmt.Fprintln(os.Stderr, "nemesis: -brokers must be 3 or 5")
		return 2
	}
	var seeds []uint64
	if *seedList != "" {
		for _, s := range strings.Split(*seedList, ",") {
			v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			if err != nil {
				fmt.Fprintf(os.Stderr, "nemesis: bad seed %q\n", s)
				return 2
			}
			seeds = append(seeds, v)
		}
	} else {
		base := uint64(time.Now().UnixNano())
		for i := range *runs {
			seeds = append(seeds, base+uint64(i))
		}
	}
	var fk []nemesis.FaultKind
	if *kinds != "" {
		for _, k := range strings.Split(*kinds, ",") {
			fk = append(fk, nemesis.FaultKind(strings.TrimSpace(k)))
		}
		for _, k := range fk {
			if !known(k) {
				fmt.Fprintf(os.Stderr, "nemesis: unknown fault kind %q (known: %s)\n", k, kindNames())
				return 2
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var reports []*nemesis.Report
	failed := 0
	for _, seed := range seeds {
		if ctx.Err() != nil {
			break
		}
		rep, err := nemesis.Run(ctx, nemesis.Config{Binary: *binary, Dir: *dir, Seed: seed, Brokers: *brokers,
			Faults: *duration, Kinds: fk, NoNetns: *noNetns, Keep: *keep, Log: os.Stdout})
		switch {
		case err != nil:
			failed++
			fmt.Printf("nemesis: seed %d: ERROR: %v\n", seed, err)
		case !rep.OK():
			failed++
			fmt.Printf("nemesis: seed %d: ANOMALIES, artefacts in %s\n", seed, rep.Dir)
		default:
			fmt.Printf("nemesis: seed %d: ok (%d operations, %v)\n", seed, rep.Operations, rep.Elapsed.Round(time.Second))
		}
		if rep != nil {
			reports = append(reports, rep)
		}
	}
	summary(reports)
	if failed > 0 {
		fmt.Printf("nemesis: %d of %d runs FAILED\n", failed, len(seeds))
		return 1
	}
	return 0
}

func known(k nemesis.FaultKind) bool {
	for _, x := range nemesis.FaultKinds {
		if x == k {
			return true
		}
	}
	return false
}

func kindNames() string {
	var s []string
	for _, k := range nemesis.FaultKinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ",")
}

// summary prints runs, operations by outcome, faults by kind and
// anomalies by kind.
func summary(reports []*nemesis.Report) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	defer tw.Flush()
	var ops, ok, failedOps, unknown int
	faults := map[nemesis.FaultKind]int{}
	anomalies := map[lin.AnomalyKind]int{}
	skipped := map[nemesis.FaultKind]bool{}
	for _, r := range reports {
		ops += r.Operations
		ok += r.Outcomes[lin.OutcomeOK]
		failedOps += r.Outcomes[lin.OutcomeFailed]
		unknown += r.Outcomes[lin.OutcomeUnknown]
		for k, n := range r.Faults {
			faults[k] += n
		}
		for _, a := range r.Result.Anomalies {
			anomalies[a.Kind]++
		}
		for k, n := range r.Result.Suppressed {
			anomalies[k] += n
		}
		for _, k := range r.SkippedKinds {
			skipped[k] = true
		}
	}
	fmt.Fprintln(tw, "\nsummary\t\t")
	fmt.Fprintf(tw, "runs\t%d\t\n", len(reports))
	fmt.Fprintf(tw, "operations\t%d\t\n", ops)
	fmt.Fprintf(tw, "  ok\t%d\t\n", ok)
	fmt.Fprintf(tw, "  failed\t%d\t\n", failedOps)
	fmt.Fprintf(tw, "  unknown\t%d\t\n", unknown)
	fmt.Fprintln(tw, "faults\t\t")
	for _, k := range nemesis.FaultKinds {
		note := ""
		if skipped[k] {
			note = "NOT PLAYED (no netns)"
		}
		fmt.Fprintf(tw, "  %s\t%d\t %s\n", k, faults[k], note)
	}
	fmt.Fprintln(tw, "anomalies\t\t")
	for _, k := range lin.AnomalyKinds {
		fmt.Fprintf(tw, "  %s\t%d\t\n", k, anomalies[k])
	}
}
