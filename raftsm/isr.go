package raftsm

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tidemark/tidemark/core/controller"
)

// In-sync replicas.
//
// dragonboat does not expose a follower's Raft progress, so every broker
// learns it the way Kafka's leader does, by watching replicas catch up:
// once per isrPollIntervalMs it asks each registered peer, over the join
// side channel (isr_wire.go), for the applied index of every local
// partition replica, and reads its own. In each round it records, per
// shard, the highest applied index seen among the shard's replicas (a
// sample). A replica is caught up as of a sample's time once its applied
// index has reached that sample's index, and it is in sync while it was
// caught up within the last isrLagWindowMs (Kafka's
// replica.lag.time.max.ms). So a replica that lags by more than the window
// drops out, and so does one whose broker cannot be reached (its record
// stops being refreshed); it comes back once it answers again with an
// applied index at least the shard's at some point within the window.
//
// The Raft leader is always reported in the ISR (kafka.go). A shard no
// observation has named yet (a new topic, or a broker that just started)
// reports every replica, as Kafka's ISR starts as the assignment; a
// replica of a shard first seen less than one window ago has that window
// of grace too, like Kafka's followers after a leader election.
//
// This is observation, not replication: it is off the Raft log, never
// decides a commit (a quorum does), and two brokers may briefly disagree.
// The table is bounded by shards x replicas; Metadata reads it under a
// short lock and never waits for a round.
const (
	// isrLagWindowMs is how long a replica may stay behind (or out of
	// reach) before it leaves the ISR: Kafka's replica.lag.time.max.ms
	// (30 s there; Raft elections here take about a second).
	isrLagWindowMs = 10_000
	// isrPollIntervalMs spaces rounds of progress requests.
	isrPollIntervalMs = 1_000
	// isrAskTimeoutMs bounds one peer's answer in a round.
	isrAskTimeoutMs = 500
	// isrMaxSamples bounds the samples kept per shard: one per round
	// within the window, and a spare.
	isrMaxSamples = isrLagWindowMs/isrPollIntervalMs + 2
)

// isrConfig holds the tracker's timing; tests shorten it.
type isrConfig struct {
	LagWindowMs    int64
	PollIntervalMs int64
	AskTimeoutMs   int64
	MaxSamples     int
}

func defaultISRConfig() isrConfig {
	return isrConfig{LagWindowMs: isrLagWindowMs, PollIntervalMs: isrPollIntervalMs, AskTimeoutMs: isrAskTimeoutMs, MaxSamples: isrMaxSamples}
}

// progressSample is the highest applied index seen among a shard's
// replicas in one round.
type progressSample struct {
	atMs       int64
	maxApplied uint64
}

type shardProgress struct {
	firstSeenMs int64
	lastSeenMs  int64
	samples     []progressSample // oldest first, maxApplied non-decreasing
	caughtUpMs  map[uint64]int64 // replica id -> the latest sample time it had reached
	// lastRound is what each replica that answered the latest round
	// reported: replica id -> applied index.
	lastRound map[uint64]uint64
}

// isrTracker is one broker's table of replica progress. Safe for
// concurrent use.
type isrTracker struct {
	cfg isrConfig

	mu     sync.Mutex
	shards map[uint64]*shardProgress
}

func newISRTracker(cfg isrConfig) *isrTracker {
	return &isrTracker{cfg: cfg, shards: map[uint64]*shardProgress{}}
}

// record folds one round's observations, all taken at or after nowMs (when
// the round began), into the table.
func (t *isrTracker) record(nowMs int64, obs []replicaProgress) {
	byShard := map[uint64][]replicaProgress{}
	for _, o := range obs {
		byShard[o.ShardID] = append(byShard[o.ShardID], o)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for shard, seen := range byShard {
		sp := t.shards[shard]
		if sp == nil {
			sp = &shardProgress{firstSeenMs: nowMs, caughtUpMs: map[uint64]int64{}, lastRound: map[uint64]uint64{}}
			t.shards[shard] = sp
		}
		sp.lastSeenMs = nowMs
		top := uint64(0)
		if n := len(sp.samples); n > 0 {
			top = sp.samples[n-1].maxApplied // a replica out of reach does not lower the bar
		}
		for _, o := range seen {
			top = max(top, o.Applied)
		}
		sp.samples = append(sp.samples, progressSample{atMs: nowMs, maxApplied: top})
		for len(sp.samples) > 1 && (sp.samples[0].atMs < nowMs-t.cfg.LagWindowMs || len(sp.samples) > t.cfg.MaxSamples) {
			sp.samples = sp.samples[1:]
		}
		clear(sp.lastRound)
		for _, o := range seen {
			sp.lastRound[o.ReplicaID] = o.Applied
			at, ok := sp.caughtUpMs[o.ReplicaID]
			if !ok {
				at = sp.firstSeenMs // a new replica of a new shard gets one window of grace
			}
			// The latest sample this replica has reached.
			for i := len(sp.samples) - 1; i >= 0; i-- {
				if o.Applied >= sp.samples[i].maxApplied {
					at = max(at, sp.samples[i].atMs)
					break
				}
			}
			sp.caughtUpMs[o.ReplicaID] = at
		}
	}
	// Forget shards nobody reports any more (deleted topics), and replicas
	// long out of sync (replaced ones), so the table stays bounded.
	for shard, sp := range t.shards {
		if sp.lastSeenMs < nowMs-2*t.cfg.LagWindowMs {
			delete(t.shards, shard)
			continue
		}
		for rid, at := range sp.caughtUpMs {
			if at < nowMs-2*t.cfg.LagWindowMs {
				delete(sp.caughtUpMs, rid)
			}
		}
	}
}

// inSync says whether replica of shard is in sync at nowMs; known is false
// when no observation has named the shard (the caller then reports the
// assignment).
func (t *isrTracker) inSync(shard, replica uint64, nowMs int64) (in, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.shards[shard]
	if sp == nil {
		return false, false
	}
	at, ok := sp.caughtUpMs[replica]
	if !ok {
		at = sp.firstSeenMs
	}
	return nowMs-at <= t.cfg.LagWindowMs, true
}

// caughtUpInLatestRound reports whether replica of shard answered the
// tracker's latest round, that round came after sinceMs, and the replica
// had then reached the round's highest applied index: alive and caught up
// as of at most one poll interval ago. A leader hands leadership only to
// such a replica (placeLeaders): a transfer stops the leader from
// accepting proposals until it completes or an election timeout passes,
// so a transfer to a dead or lagging broker is an outage. known is false
// for a shard no round has observed yet (a new topic).
func (t *isrTracker) caughtUpInLatestRound(shard, replica uint64, sinceMs int64) (ok, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.shards[shard]
	if sp == nil {
		return false, false
	}
	applied, answered := sp.lastRound[replica]
	return answered && sp.lastSeenMs > sinceMs && applied >= sp.samples[len(sp.samples)-1].maxApplied, true
}

// ---- this broker's side ----

// localProgress lists the applied index of every local partition replica,
// by shard id.
func (n *Node) localProgress() []replicaProgress {
	n.mu.Lock()
	type part struct {
		shard, replica uint64
		sm             *partitionSM
	}
	parts := make([]part, 0, len(n.replicas))
	for id, r := range n.replicas {
		if r.part != nil {
			parts = append(parts, part{id, r.replicaID, r.part})
		}
	}
	n.mu.Unlock()
	slices.SortFunc(parts, func(a, b part) int { return compareUint64(a.shard, b.shard) })
	if len(parts) > progressMaxReplicas {
		parts = parts[:progressMaxReplicas]
	}
	out := make([]replicaProgress, len(parts))
	for i, p := range parts {
		out[i] = replicaProgress{ShardID: p.shard, ReplicaID: p.replica, Applied: p.sm.appliedIndex()}
	}
	return out
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pollProgress runs rounds until the node closes.
func (n *Node) pollProgress() {
	defer close(n.isrDone)
	tick := time.NewTicker(time.Duration(n.isr.cfg.PollIntervalMs) * time.Millisecond)
	defer tick.Stop()
	for n.ctx.Err() == nil {
		n.progressRound(n.isr)
		select {
		case <-n.ctx.Done():
		case <-tick.C:
		}
	}
}

// progressRound asks every registered peer in parallel, reads this
// broker's own replicas, and records what answered.
//
// The round is recorded at the time it began: every answer in it was given
// after that. A round that began before this node took over a partition
// must not count as one held since, although it may end after: a broker
// that answered early in it and died before the takeover would look alive
// to placeLeaders (TestNoLeaderTransferToADeadBroker failed that way, once).
func (n *Node) progressRound(t *isrTracker) {
	began := time.Now().UnixMilli()
	peers := map[int32]string{}
	if n.ctrlReplica.Load() != 0 {
		n.ReadController(func(c *controller.Controller) {
			for _, b := range c.Brokers() {
				if b.Info.ID != n.cfg.NodeID && b.Info.KafkaAddr != "" {
					peers[b.Info.ID] = b.Info.KafkaAddr
				}
			}
		})
	}
	ids := slices.Sorted(maps.Keys(peers))
	answers := make([][]replicaProgress, len(ids))
	reached := make([]bool, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(n.ctx, time.Duration(t.cfg.AskTimeoutMs)*time.Millisecond)
			defer cancel()
			b, err := askPeerLimit(ctx, peers[id], encodeProgressRequest(), progressMaxAnswerSize)
			if err != nil {
				return // out of reach: its replicas age out of the ISR
			}
			a, err := decodeProgressAnswer(b)
			if err != nil || a.BrokerID != id {
				n.log.Debug("replica progress answer", "broker", id, "answered_as", a.BrokerID, "err", err)
				return
			}
			answers[i], reached[i] = a.Replicas, true
		}()
	}
	obs := n.localProgress()
	wg.Wait()
	for _, a := range answers {
		obs = append(obs, a...)
	}
	t.record(began, obs)
	unreached := map[int32]bool{}
	for i, id := range ids {
		if !reached[i] {
			unreached[id] = true
		}
	}
	n.wakeReplicas(unreached)
}

// wakeTimeout bounds the read index that wakes a quiesced replica; its
// answer does not matter.
const wakeTimeout = 2 * time.Second

// wakeReplicas ends the quiesce of every local partition replica that
// knows no leader, or has a member on one of the brokers in down, so that
// it counts election timeouts again: a follower campaigns if no leader
// answers, and a leader checks that a quorum still hears it (CheckQuorum)
// and steps down if not. A quiesced replica does neither, and a replica
// that hears nothing for 20 election timeouts quiesces even without a
// leader. Without this, a partition whose leader died while it was idle
// would keep that dead leader until its next write, which never comes
// (clients send their writes to the dead leader); a leader cut off from
// its followers while idle would go on serving stale reads; and a
// partition whose replicas all quiesced during a failed election (seen
// while 1,000 partitions were created at once) would never elect. A read
// index is local activity, which is what dragonboat wakes on; on a replica
// that was not quiesced it costs at most one message to the leader. While a
// member stays out of reach, its partitions are woken every round and so
// do not quiesce; each has at most two read indexes in flight (one per
// round, each waiting up to wakeTimeout).
func (n *Node) wakeReplicas(down map[int32]bool) {
	type replica struct {
		shard   uint64
		members []controller.Replica // replaced whole by the loop, never changed in place
	}
	var local []replica
	n.mu.Lock()
	for shard, r := range n.replicas {
		if r.info.Kind == controller.ShardPartition {
			local = append(local, replica{shard, r.info.Replicas})
		}
	}
	n.mu.Unlock()
	for _, r := range local {
		_, _, valid, err := n.nh.GetLeaderID(r.shard)
		if err != nil {
			continue // not running here (any more)
		}
		if valid && !slices.ContainsFunc(r.members, func(m controller.Replica) bool { return down[m.BrokerID] }) {
			continue
		}
		rs, err := n.nh.ReadIndex(r.shard, wakeTimeout)
		if err != nil {
			continue
		}
		go func() { // dragonboat completes every request state; only then may it be reused
			<-rs.ResultC()
			rs.Release()
		}()
	}
}
