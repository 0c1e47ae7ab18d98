package sim

import (
	"fmt"
	lin "github.com/tidemark/tidemark/linearizability"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// invariants are the checks that run after every step, on the whole
// cluster's state as only a simulator can see it.
type invariants struct {
	// leaders: (shard, term) -> the replica that led that term.
	leaders map[[2]uint64]uint64
	// committed: shard -> digest of each committed entry by index (index 0
	// unused); every replica that applies index i must agree.
	committed map[uint64][]uint64
	// maxHW: partition shard -> the highest high watermark served.
	maxHW         map[uint64]int64
	lastLeader    map[uint64]uint64
	leaderChanges int

	converged  bool
	why        string
	finalReads bool
}

func (v *invariants) init() {
	v.leaders = make(map[[2]uint64]uint64)
	v.committed = make(map[uint64][]uint64)
	v.maxHW = make(map[uint64]int64)
	v.lastLeader = make(map[uint64]uint64)
}

// leaderElected: one leader per term per shard.
func (s *sim) leaderElected(r *replica) {
	st := r.rn.BasicStatus()
	key := [2]uint64{r.info.id, st.Term}
	if other, ok := s.inv.leaders[key]; ok && other != r.rid {
		s.fail("invariant:one-leader-per-term", "shard %d term %d: replicas %d and %d both led", r.info.id, st.Term, other, r.rid)
		return
	}
	s.inv.leaders[key] = r.rid
	if s.inv.lastLeader[r.info.id] != r.rid {
		s.inv.lastLeader[r.info.id] = r.rid
		s.inv.leaderChanges++
	}
	s.e.trace4("leader", int64(r.info.id), int64(st.Term), int64(r.n.id), int64(r.rid))
}

// checkCommitted: committed prefixes agree. Every replica applying index
// i of a shard must apply the same entry there.
func (s *sim) checkCommitted(r *replica, e raftpb.Entry) {
	log := s.inv.committed[r.info.id]
	d := entryDigest(e)
	if int(e.Index) < len(log) {
		if log[e.Index] != d {
			s.fail("invariant:committed-prefix", "shard %d index %d: broker %d applied a different entry than another replica",
				r.info.id, e.Index, r.n.id)
		}
		return
	}
	for uint64(len(log)) < e.Index {
		log = append(log, 0) // a gap: filled when another replica applies it
	}
	s.inv.committed[r.info.id] = append(log, d)
}

// checkHW: the high watermark served to clients never moves backward.
func (s *sim) checkHW(shard uint64, hw int64) {
	if hw < s.inv.maxHW[shard] {
		s.fail("invariant:hw-monotonic", "shard %d served high watermark %d after %d", shard, hw, s.inv.maxHW[shard])
		return
	}
	s.inv.maxHW[shard] = hw
}

// livenessProbe runs every 100 ms of the liveness phase: once every shard
// has converged (one leader, every replica applied to the commit index,
// equal state hashes) the final reads start; when they are done the run
// has converged.
func (s *sim) livenessProbe() {
	if s.failure != nil || s.inv.converged {
		return
	}
	s.e.after(100, s.livenessProbe)
	if why := s.convergence(); why != "" {
		s.inv.why = why
		return
	}
	if s.pendingOps() {
		s.inv.why = "client operations still pending"
		return
	}
	if !s.inv.finalReads {
		s.inv.finalReads = true
		s.inv.why = "final reads not done"
		s.startFinalReads()
	}
}

// convergence returns "" when every shard has converged, or why not.
func (s *sim) convergence() string {
	var shards []uint64
	for _, n := range s.nodes {
		if n.up {
			shards = append(shards, n.order...)
		}
	}
	slices.Sort(shards)
	shards = slices.Compact(shards)
	if len(shards) == 0 {
		return "no shards"
	}
	for _, id := range shards {
		var reps []*replica
		var peers []peer
		for _, n := range s.nodes {
			if r := n.replicas[id]; n.up && r != nil {
				reps = append(reps, r)
				peers = r.info.peers
			}
		}
		for _, p := range peers {
			if n := s.nodes[p.broker]; !n.failed && (!n.up || n.replicas[id] == nil) {
				return fmt.Sprintf("shard %d: broker %d has no replica", id, p.broker)
			}
		}
		var lead *replica
		for _, r := range reps {
			if r.rn.BasicStatus().RaftState == raft.StateLeader {
				if lead != nil {
					return fmt.Sprintf("shard %d: two leaders", id)
				}
				lead = r
			}
		}
		if lead == nil {
			return fmt.Sprintf("shard %d: no leader", id)
		}
		commit := lead.rn.BasicStatus().Commit
		last, _ := lead.mem.LastIndex()
		if commit != last {
			return fmt.Sprintf("shard %d: leader commit %d < last %d", id, commit, last)
		}
		h := lead.stateHash()
		for _, r := range reps {
			if r.applied != commit {
				return fmt.Sprintf("shard %d: broker %d applied %d of %d", id, r.n.id, r.applied, commit)
			}
			if r.stateHash() != h {
				s.fail("invariant:state-hash", "shard %d: broker %d state hash %x, leader %x at index %d",
					id, r.n.id, r.stateHash(), h, commit)
				return "state hashes differ"
			}
		}
	}
	return ""
}

// pendingOps reports whether some client operation is still waiting for
// its answer (the final reads must see every acknowledged write).
func (s *sim) pendingOps() bool {
	h := s.rec.History()
	for i := range h.Operations {
		if op := &h.Operations[i]; op.Outcome == lin.OutcomeUnknown && op.Return == 0 {
			return true
		}
	}
	return false
}
