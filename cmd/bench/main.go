// Command bench measures Tidemark with a real Kafka client (franz-go)
// against brokers it starts itself on loopback: produce and consume
// throughput, acknowledgement and end-to-end latency, partition scale and
// leader failover. It writes docs/benchmarks/results.md, results.json and
// SVG charts. Benchmarks report numbers; they never fail on time.
//
//	bin/bench [--broker bin/broker] [--out docs/benchmarks] [--duration 10s] [--warmup 5s] [--quick] [--only produce,latency,scale,recovery] [--profile]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		binary   = flag.String("broker", "./bin/broker", "the broker binary to start")
		out      = flag.String("out", "docs/benchmarks", "directory for results.md, results.json and the charts")
		duration = flag.Duration("duration", 10*time.Second, "length of each produce run")
		warmup   = flag.Duration("warmup", 5*time.Second, "load before each produce run's measurement starts (not counted)")
		inFlight = flag.Int("in-flight", 512, "records handed to the client and not yet acknowledged, at most")
		quick    = flag.Bool("quick", false, "a short run: 3 s runs after 1 s of warm-up, 1 KiB records, 6 partitions, 100 partitions for scale")
		only     = flag.String("only", "", "comma-separated scenarios to run: produce, latency, scale, recovery (default all)")
		scaleN   = flag.Int("scale-partitions", 1000, "partitions of the scale scenario")
		keep     = flag.Bool("keep", false, "keep the brokers' data dirs and logs")
		brokers  = flag.String("brokers", "1,3", "comma-separated cluster sizes of the produce and latency scenarios")
		parts    = flag.String("partitions", "", "comma-separated partition counts of the produce scenario (default 1,6,64; with --quick 6)")
		profile  = flag.Bool("profile", false, "take CPU and allocation profiles of every broker during each produce run and read-back, and of the load generator while it reads back, into <out>/profiles")
	)
	flag.Parse()
	log.SetFlags(log.Ltime)

	bin, err := filepath.Abs(*binary)
	if err != nil || !isExecutable(bin) {
		fmt.Fprintf(os.Stderr, "bench: %s is not an executable; run make build first\n", *binary)
		os.Exit(2)
	}
	work, err := os.MkdirTemp("", "tidemark-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	profileDir := ""
	if *profile {
		profileDir = filepath.Join(*out, "profiles")
	}
	r := &runner{
		profileDir: profileDir,
		binary:     bin, workDir: work, duration: *duration, warmup: *warmup, inFlight: *inFlight,
		sizes: []int{100, 1024}, parts: []int32{1, 6, 64}, brokers: []int{1, 3},
		scaleN: int32(*scaleN), only: map[string]bool{},
		res: &results{Started: time.Now(), Commit: gitCommit(), GoVersion: runtime.Version(),
			CPUs: runtime.NumCPU(), InFlight: *inFlight, Duration: *duration, Warmup: *warmup},
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["duration"] {
			r.duration, r.res.Duration = 3*time.Second, 3*time.Second
		}
		if !set["warmup"] {
			r.warmup, r.res.Warmup = time.Second, time.Second
		}
		r.sizes, r.parts = []int{1024}, []int32{6}
		if *scaleN == 1000 {
			r.scaleN = 100
		}
	}
	r.brokers = positiveList("brokers", *brokers)
	if *parts != "" {
		r.parts = nil
		for _, n := range positiveList("partitions", *parts) {
			r.parts = append(r.parts, int32(n))
		}
	}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			r.only[s] = true
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r.run(ctx)
	if *keep {
		log.Printf("data dirs and broker logs kept in %s", work)
	} else {
		os.RemoveAll(work)
	}
	if err := writeResults(*out, r.res); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	log.Printf("results in %s", filepath.Join(*out, "results.md"))
}

// positiveList parses a comma-separated list of positive integers given to
// --flag, or exits with a one-line reason.
func positiveList(flag, list string) []int {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: --%s: %q is not a positive number\n", flag, s)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// writeResults writes results.md, results.json and the charts into dir.
func writeResults(dir string, r *results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md, js, tp, lat bytes.Buffer
	writeMarkdown(&md, r)
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	files := map[string]*bytes.Buffer{"results.md": &md, "results.json": &js}
	if bs := throughputBars(r); len(bs) > 0 {
		writeBarChart(&tp, "Produce throughput, acks=all", "records/s", bs)
		files["throughput.svg"] = &tp
	}
	if bs := latencyBars(r); len(bs) > 0 {
		writeBarChart(&lat, "p99 latency at 50% of the maximum load", "ms", bs)
		files["latency.svg"] = &lat
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
