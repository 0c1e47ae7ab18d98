package nemesis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	lin "github.com/tidemark/tidemark/linearizability"
)

// Run phases' bounds (safety nets).
const (
	// warmup is how long the workload runs before the first fault.
	warmup = 3 * time.Second
	// cooldown is how long the workload runs after the last heal.
	cooldown = 3 * time.Second
	// finalReadTimeout bounds reading every partition from the start.
	finalReadTimeout = 120 * time.Second
	// modelTimeout bounds porcupine per sub-history.
	modelTimeout = 120 * time.Second
)

// Config is one run.
type Config struct {
	// Binary is bin/broker.
	Binary string
	// Dir is where the run's directory is created (os.TempDir if empty).
	Dir string
	// Seed draws the schedule and the workload's choices.
	Seed uint64
	// Brokers is 3 or 5.
	Brokers int
	// Faults is the time the fault phase should last (holds and gaps;
	// restarts and settling add to it). Every kind is played at least once.
	Faults time.Duration
	// Kinds restricts the fault kinds; empty means every kind the cluster
	// can play.
	Kinds []FaultKind
	// NoNetns runs on loopback even as root: no partition faults.
	NoNetns bool
	// Workload sizes the clients; zero counts get defaults.
	Workload WorkloadConfig
	// Keep keeps the run's directory even when the run passes.
	Keep bool
	// Log receives progress and the fault log; nil discards.
	Log io.Writer
}

// Report is what a run found.
type Report struct {
	Seed       uint64
	Dir        string // the artefacts; removed on a pass unless Config.Keep
	Operations int
	Outcomes   map[lin.Outcome]int
	Faults     map[FaultKind]int // faults played (skipped ones are not counted)
	// SkippedKinds are kinds the run could not play (partitions without
	// network namespaces); the run says so rather than pass them.
	SkippedKinds []FaultKind
	Result       lin.Result
	Elapsed      time.Duration
}

// OK reports whether the history kept every promise checked.
func (r *Report) OK() bool { return r.Result.OK() }

func (c *Config) defaults() {
	if c.Brokers == 0 {
		c.Brokers = 3
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	w := &c.Workload
	if w.Topic == "" {
		w.Topic = "nemesis"
	}
	if w.Partitions == 0 {
		w.Partitions = 4
	}
	if w.Group == "" {
		w.Group = "nemesis-group"
	}
	if w.IdempotentProducers == 0 {
		w.IdempotentProducers = 2
	}
	if w.PlainProducers == 0 {
		w.PlainProducers = 1
	}
	if w.GroupConsumers == 0 {
		w.GroupConsumers = 2
	}
	if w.DirectReaders == 0 {
		w.DirectReaders = 1
	}
}

// Run starts a cluster, runs the workload under a fault schedule drawn
// from cfg.Seed, heals, reads everything back and checks the history. An
// error means the harness could not run or the cluster could not be
// brought back (the directory is kept and named in the error); anomalies
// are in Report.Result, with the directory kept.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	started := time.Now()
	rep := &Report{Seed: cfg.Seed, Faults: map[FaultKind]int{}, Outcomes: map[lin.Outcome]int{}}
	dir, err := os.MkdirTemp(cfg.Dir, fmt.Sprintf("nemesis-seed%d-", cfg.Seed))
	if err != nil {
		return nil, err
	}
	rep.Dir = dir
	fmt.Fprintf(cfg.Log, "nemesis: seed %d, %d brokers, artefacts in %s\n", cfg.Seed, cfg.Brokers, dir)
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6e656d65736973))
	useNetns := !cfg.NoNetns && netnsAvailable()
	kinds := cfg.Kinds
	if len(kinds) == 0 {
		kinds = FaultKinds
	}
	var playable []FaultKind
	for _, k := range kinds {
		if !useNetns && isPartition(k) {
			rep.SkippedKinds = append(rep.SkippedKinds, k)
			continue
		}
		playable = append(playable, k)
	}
	if len(rep.SkippedKinds) > 0 {
		fmt.Fprintf(cfg.Log, "nemesis: NOT playing %v: partitions need root and ip (network namespaces)\n", rep.SkippedKinds)
	}
	schedule := Schedule(rng, playable, cfg.Faults)
	flog := &faultLog{start: started, out: cfg.Log}

	c, err := StartCluster(ctx, cfg.Binary, filepath.Join(dir, "cluster"), cfg.Brokers, useNetns, rng)
	if err != nil {
		return rep, fmt.Errorf("start cluster (artefacts in %s): %w", dir, err)
	}
	closed := false
	closeCluster := func() {
		if !closed {
			closed = true
			c.Close()
		}
	}
	defer closeCluster()
	wc := cfg.Workload
	if err := c.CreateTopic(ctx, wc.Topic, wc.Partitions, 3); err != nil {
		return rep, fmt.Errorf("artefacts in %s: %w", dir, err)
	}
	rec := lin.NewRecorder()
	w := newWorkload(wc, c, rec, lin.MonotonicClock())
	wctx, stopWorkload := context.WithCancel(ctx)
	defer stopWorkload()
	w.start(wctx, rng.Uint64())

	sleep(ctx, warmup)
	pl := &player{c: c, topic: wc.Topic, partitions: wc.Partitions, log: flog}
	var runErr error
	for _, f := range schedule {
		if ctx.Err() != nil {
			break
		}
		err := pl.play(ctx, f)
		if errors.Is(err, errSkipped) {
			continue
		}
		if err != nil {
			runErr = fmt.Errorf("fault %s: %w", f.Kind, err)
			break
		}
		rep.Faults[f.Kind]++
	}
	flog.add("heal", "heal everything")
	if err := c.Heal(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		if err := c.WaitReady(ctx); err != nil {
			runErr = err
		} else if err := c.WaitLeaders(ctx, wc.Topic, wc.Partitions); err != nil {
			runErr = err
		}
	}
	sleep(ctx, cooldown)
	stopWorkload()
	w.wait()
	if runErr == nil {
		fctx, cancel := context.WithTimeout(ctx, finalReadTimeout)
		runErr = w.finalRead(fctx)
		cancel()
		flog.add("final-read", "read every partition from offset 0")
	}
	closeCluster()
	select {
	case err := <-w.errs:
		if runErr == nil {
			runErr = fmt.Errorf("harness: %w", err)
		}
	default:
	}

	h := rec.History()
	rep.Operations = len(h.Operations)
	for _, op := range h.Operations {
		rep.Outcomes[op.Outcome]++
	}
	if err := writeArtefacts(dir, h, flog, schedule); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		rep.Elapsed = time.Since(started)
		return rep, fmt.Errorf("seed %d (artefacts in %s): %w", cfg.Seed, dir, runErr)
	}
	res, err := lin.Check(h, lin.Config{
		ModelTimeout:     modelTimeout,
		ModelWorkers:     1, // the machine is shared
		VisualizationDir: dir,
		ReadersCoverLog:  true, // the final read covers every partition from 0
		StaleReads:       true, // raftsm serves fetches from applied state (guarantees.md)
	})
	rep.Elapsed = time.Since(started)
	if err != nil {
		return rep, fmt.Errorf("seed %d (artefacts in %s): check: %w", cfg.Seed, dir, err)
	}
	rep.Result = res
	os.WriteFile(filepath.Join(dir, "result.txt"), []byte(res.String()+"\n"), 0o644)
	if res.OK() && !cfg.Keep {
		os.RemoveAll(dir)
		rep.Dir = ""
	} else if !res.OK() {
		fmt.Fprintf(cfg.Log, "nemesis: seed %d FAILED: %s\nnemesis: artefacts kept in %s\n", cfg.Seed, res.String(), dir)
	}
	return rep, nil
}

func isPartition(k FaultKind) bool {
	for _, p := range partitionKinds {
		if p == k {
			return true
		}
	}
	return false
}

// writeArtefacts writes the history JSON, the fault log and the schedule.
func writeArtefacts(dir string, h lin.History, flog *faultLog, schedule []Fault) error {
	data, err := lin.EncodeHistory(h)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "history.json"), data, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "faults.log"), []byte(flog.String()), 0o644); err != nil {
		return err
	}
	var s string
	for _, f := range schedule {
		s += fmt.Sprintf("%s hold=%v gap=%v pick=%d\n", f.Kind, f.Hold, f.Gap, f.Pick)
	}
	return os.WriteFile(filepath.Join(dir, "schedule.txt"), []byte(s), 0o644)
}
