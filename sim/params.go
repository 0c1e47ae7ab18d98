package sim

import (
	"fmt"
	"strings"
)

// Fixed timing of the simulated brokers, in virtual milliseconds. They
// mirror raftsm's defaults where raftsm has one (GroupTickIntervalMs).
const (
	// Raft timing mirrors raftsm's DefaultRaftTiming: RTT 20 ms, election
	// 25 RTTs, heartbeat 2 RTTs.
	tickMs              = 20   // one Raft tick
	electionTicks       = 25   // Raft election timeout, in ticks
	heartbeatTicks      = 2    // Raft heartbeat interval, in ticks
	groupTickIntervalMs = 100  // raftsm GroupTickIntervalMs
	retentionIntervalMs = 5000 // raftsm proposes Retain every 30 s; runs are shorter
	requestTimeoutMs    = 1000 // a client gives up on one request after this
	retryBackoffMs      = 50   // a client waits this long before a retry
	faultIntervalMs     = 100  // the fault scheduler draws every interval
	maxClockJumpMs      = 60_000
	// Group timeouts are scaled down from Kafka's defaults so sessions
	// expire within a run: the group shards run with MinSessionTimeoutMs
	// = minSessionMs (group.Config), an allowed setting.
	minSessionMs       = 1000
	groupSessionMs     = 1500
	groupRebalanceMs   = 1000
	heartbeatEveryMs   = 300
	liveLimitMs        = 30_000 // the liveness phase must converge within this
	setupLimitMs       = 20_000 // bootstrap and topic creation must finish within this
	maxRecordsPerBatch = 3
)

// Params is everything a run draws from its seed before it starts: the
// cluster's shape, the fault rates and the workload mix (swarm testing:
// each seed explores its own corner). Run prints it.
type Params struct {
	Nodes              int
	Topics             int
	PartitionsPerTopic int
	GroupShards        int
	Producers          int
	Fetchers           int
	GroupMembers       int
	IdempotentPct      int // percent of producers that are idempotent
	KeyedPct           int // percent of batches that carry keys
	SafetyMs           int64
	MaxOps             int

	NetDelayMeanMs float64
	FsyncMs        int64
	DropPct        float64 // per message
	DupPct         float64 // per message
	// Per fault-interval probabilities of starting a fault.
	PartitionPct float64
	ClogPct      float64
	CrashPct     float64
	PausePct     float64
	ClockJumpPct float64
	CorruptPct   float64
	TearPct      float64 // chance a crash tears the write in flight
}

// drawParams derives the run's parameters from its PRNG.
func drawParams(e *engine, maxOps int) Params {
	r := e.rng
	pick := func(lo, hi int) int { return lo + r.IntN(hi-lo+1) }
	// Fault rates: most seeds get a mix; some get none of a kind, so a
	// bug that only shows without (say) drops is still reached.
	rate := func(maxPct float64) float64 {
		if r.IntN(4) == 0 {
			return 0
		}
		return r.Float64() * maxPct
	}
	p := Params{
		Nodes:              []int{3, 3, 5}[r.IntN(3)],
		Topics:             pick(1, 2),
		PartitionsPerTopic: pick(1, 2),
		GroupShards:        pick(1, 2),
		Producers:          pick(2, 5),
		Fetchers:           pick(1, 3),
		GroupMembers:       pick(0, 3),
		IdempotentPct:      []int{0, 50, 100}[r.IntN(3)],
		KeyedPct:           pick(0, 100),
		SafetyMs:           int64(pick(4000, 10000)),
		MaxOps:             maxOps,
		NetDelayMeanMs:     0.5 + r.Float64()*4,
		FsyncMs:            int64(pick(0, 3)),
		DropPct:            rate(10),
		DupPct:             rate(20),
		PartitionPct:       rate(8),
		ClogPct:            rate(5),
		CrashPct:           rate(4),
		PausePct:           rate(3),
		ClockJumpPct:       rate(2),
		CorruptPct:         rate(2),
		TearPct:            rate(60),
	}
	return p
}

func (p Params) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nodes=%d topics=%d partitions/topic=%d group-shards=%d\n", p.Nodes, p.Topics, p.PartitionsPerTopic, p.GroupShards)
	fmt.Fprintf(&b, "clients: producers=%d (idempotent %d%%, keyed %d%%) fetchers=%d group-members=%d max-ops=%d safety=%dms\n",
		p.Producers, p.IdempotentPct, p.KeyedPct, p.Fetchers, p.GroupMembers, p.MaxOps, p.SafetyMs)
	fmt.Fprintf(&b, "network: delay-mean=%.1fms drop=%.1f%% dup=%.1f%% fsync=%dms\n", p.NetDelayMeanMs, p.DropPct, p.DupPct, p.FsyncMs)
	fmt.Fprintf(&b, "faults per %dms: partition=%.1f%% clog=%.1f%% crash=%.1f%% pause=%.1f%% clock-jump=%.1f%% corrupt=%.1f%% tear-on-crash=%.0f%%",
		faultIntervalMs, p.PartitionPct, p.ClogPct, p.CrashPct, p.PausePct, p.ClockJumpPct, p.CorruptPct, p.TearPct)
	return b.String()
}
