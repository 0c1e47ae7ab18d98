package sim

import (
	"fmt"
	"io"

	lin "github.com/tidemark/tidemark/linearizability"
)

// Options configure one run. The zero value (plus a seed) is a normal run.
type Options struct {
	Seed uint64
	// Bugs are the planted bugs enabled for the run (none normally).
	Bugs []Bug
	// Trace, when not nil, receives the full trace, one line per event.
	Trace io.Writer
	// MaxOps bounds the client operations of the run; 0 means
	// DefaultMaxOps.
	MaxOps int
	// VisualizationDir, when set, is where porcupine's HTML of a failing
	// sub-history is written.
	VisualizationDir string
	// nondeterministicCrypto leaves crypto/rand.Reader alone: only the
	// canary test sets it, to show that runs then diverge.
	nondeterministicCrypto bool
	// benchShape, for BenchmarkSeed only: 3 brokers and a safety phase
	// that lasts until MaxOps operations have started.
	benchShape bool
}

// DefaultMaxOps is the client operations of a run unless Options say.
const DefaultMaxOps = 1000

// Failure says which checker failed and how.
type Failure struct {
	Checker string // "invariant:<name>", "liveness", "linearizability"
	Detail  string
	AtMs    int64
}

func (f *Failure) Error() string { return fmt.Sprintf("%s at %dms: %s", f.Checker, f.AtMs, f.Detail) }

// Report is the outcome of one run.
type Report struct {
	Seed          uint64
	Params        Params
	Bugs          []Bug
	SimulatedMs   int64
	Events        int64
	Ops           int
	OpsOK         int
	Faults        FaultCounts
	LeaderChanges int
	TraceHash     uint64
	Failure       *Failure
	History       lin.History
}

// sim is one run's world.
type sim struct {
	e       *engine
	p       Params
	bugs    bugSet
	nodes   []*node
	net     *network
	clients []*client
	rec     *lin.Recorder
	opts    Options

	faultsOn      bool
	partitioned   bool
	corruptVictim int
	faults        FaultCounts
	failure       *Failure
	ready         bool  // topics created
	readyAt       int64 // when
	quiesce       bool  // liveness phase: no new client ops, no timer proposals
	ops           int
	opsOK         int

	inv invariants

	reqIDs    uint64
	lastShard map[int]uint64 // client -> shard of its last routed request
}

func (s *sim) fail(checker, format string, args ...any) {
	if s.failure == nil {
		s.failure = &Failure{Checker: checker, Detail: fmt.Sprintf(format, args...), AtMs: s.e.now}
		s.e.trace("FAIL", 0, 0, s.failure.Error())
	}
}

// Run runs one seed: safety phase with faults, liveness phase, checks.
func Run(opts Options) *Report {
	restore := installCrypto(opts.Seed, !opts.nondeterministicCrypto)
	defer restore()
	if opts.MaxOps <= 0 {
		opts.MaxOps = DefaultMaxOps
	}
	e := newEngine(opts.Seed, opts.Trace)
	s := &sim{e: e, opts: opts, bugs: bugSet(opts.Bugs), rec: lin.NewRecorder(), corruptVictim: -1}
	s.p = drawParams(e, opts.MaxOps)
	if opts.benchShape {
		s.p.Nodes, s.p.SafetyMs = 3, 60_000
	}
	s.inv.init()
	e.trace("params", int64(opts.Seed), 0, s.p.String())
	s.net = newNetwork(s.p.Nodes)
	for i := range s.p.Nodes {
		n := &node{s: s, id: int32(i), disk: newDisk()}
		s.nodes = append(s.nodes, n)
		n.boot()
	}
	s.startClients()

	// Safety phase.
	// Safety phase: SafetyMs from the moment the topics exist, or until
	// the operations run out.
	for s.failure == nil && s.ops < s.p.MaxOps {
		until := int64(setupLimitMs)
		if s.ready {
			until = s.readyAt + s.p.SafetyMs
		}
		if !s.step(until) {
			if !s.ready {
				s.fail("liveness:setup", "bootstrap and topic creation not done within %dms", setupLimitMs)
			}
			break
		}
	}
	// Liveness phase: heal everything, stop faults and new work, and
	// require convergence within liveLimitMs.
	if s.failure == nil {
		s.heal()
		deadline := e.now + liveLimitMs
		e.after(100, s.livenessProbe)
		for s.failure == nil && !s.inv.converged {
			if !s.step(deadline) {
				s.fail("liveness", "not converged within %dms: %s", liveLimitMs, s.inv.why)
				break
			}
		}
	}
	rep := &Report{
		Seed: opts.Seed, Params: s.p, Bugs: opts.Bugs, SimulatedMs: e.now, Events: e.events,
		Ops: s.ops, OpsOK: s.opsOK, Faults: s.faults, LeaderChanges: s.inv.leaderChanges,
		History: s.rec.History(),
	}
	if s.failure == nil {
		s.checkHistory(rep.History)
	}
	if e.traceFailed != nil && s.failure == nil {
		s.fail("trace", "writing the trace: %v", e.traceFailed)
	}
	rep.Failure = s.failure
	rep.TraceHash = e.traceHash
	return rep
}

// step runs one event. A panic inside it (etcd raft refusing a log that
// lost acknowledged entries, a core invariant assertion) fails the run
// instead of the process; the run then stops.
func (s *sim) step(until int64) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			s.fail("invariant:panic", "%v", p)
			ok = false
		}
	}()
	return s.e.step(until)
}

func (s *sim) heal() {
	s.e.trace("liveness", 0, 0, "")
	s.faultsOn = false
	s.quiesce = true
	s.net.heal()
	for _, n := range s.nodes {
		if n.failed {
			continue
		}
		if !n.up {
			n.boot()
		}
		n.paused = false
	}
}

// checkHistory runs the linearizability checker on the run's history.
func (s *sim) checkHistory(h lin.History) {
	res, err := lin.Check(h, lin.Config{VisualizationDir: s.opts.VisualizationDir, ModelWorkers: 1})
	if err != nil {
		s.fail("linearizability", "history invalid: %v", err)
		return
	}
	if !res.OK() {
		s.fail("linearizability", "%s", res.String())
	}
}
