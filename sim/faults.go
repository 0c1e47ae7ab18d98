package sim

import (
	"slices"

	"go.etcd.io/raft/v3"
)

// FaultKind names a fault (or a recovery path a fault drives), for the
// per-run counts and a sweep's coverage.
type FaultKind int

const (
	faultDrop FaultKind = iota
	faultDuplicate
	faultPartitionDrop
	faultPartitionOne
	faultPartitionHalves
	faultPartitionLeader
	faultPartitionOneWay
	faultClog
	faultCrash
	faultTorn
	faultTornDetected
	faultPause
	faultClockJump
	faultCorrupt
	faultCorruptDetected
	// Not faults but the recovery paths they drive, counted for coverage.
	faultSnapshot
	faultSnapshotInstall
	faultKinds
)

var faultNames = [faultKinds]string{
	"drop", "duplicate", "partition-drop", "isolate-one", "split-halves", "isolate-leader",
	"one-way", "clog", "crash", "torn-write", "torn-detected", "pause", "clock-jump",
	"corrupt", "corrupt-detected", "snapshot", "snapshot-install",
}

func (k FaultKind) String() string { return faultNames[k] }

// FaultCounts counts how often each fault fired in a run.
type FaultCounts [faultKinds]int

func (s *sim) count(k FaultKind) { s.faults[k]++ }

// faultLoop draws, every faultIntervalMs of the safety phase, which faults
// start. Each fault heals itself after a drawn duration.
func (s *sim) faultLoop() {
	if !s.faultsOn {
		return
	}
	s.e.after(faultIntervalMs, s.faultLoop)
	p, e := s.p, s.e
	if !s.partitioned && e.chance(p.PartitionPct/100) {
		s.startPartition()
	}
	if e.chance(p.ClogPct / 100) {
		a, b := e.rng.IntN(p.Nodes), e.rng.IntN(p.Nodes)
		if a != b {
			s.net.clogUntil[a][b] = e.now + 100 + e.rng.Int64N(900)
			s.count(faultClog)
			e.trace("clog", int64(a), int64(b), "")
		}
	}
	if e.chance(p.CrashPct / 100) {
		if n := s.pickNode(func(n *node) bool { return n.up }); n != nil && s.down() < s.maxDown() {
			tear := e.chance(p.TearPct / 100)
			if e.rng.IntN(2) == 0 {
				// Half the crashes wait for the broker's next fsync and
				// strike while its writes are in flight: only those can
				// lose or tear anything.
				n.crashArmed, n.crashTear = true, tear
			} else {
				s.crashNode(n, tear)
			}
		}
	}
	if e.chance(p.PausePct / 100) {
		if n := s.pickNode(func(n *node) bool { return n.running() }); n != nil && s.down() < s.maxDown() {
			e.trace("pause", int64(n.id), 0, "")
			s.count(faultPause)
			n.paused = true
			inc := n.incarnation
			e.after(100+e.rng.Int64N(1400), func() {
				if n.incarnation == inc {
					n.paused = false
					e.trace("resume", int64(n.id), 0, "")
				}
			})
		}
	}
	if e.chance(p.ClockJumpPct / 100) {
		n := s.nodes[e.rng.IntN(p.Nodes)]
		jump := e.rng.Int64N(maxClockJumpMs) - maxClockJumpMs/4 // mostly forward
		n.clockSkewMs += jump
		s.count(faultClockJump)
		e.trace("clock-jump", int64(n.id), jump, "")
	}
	if s.corruptVictim < 0 && e.chance(p.CorruptPct/100) {
		s.corruptOne()
	}
}

// crashNode crashes n now and restarts it 0.1-2 s later.
func (s *sim) crashNode(n *node, tear bool) {
	if !n.up || s.down() >= s.maxDown() && n.running() {
		return
	}
	s.e.trace("crash", int64(n.id), 0, "")
	s.count(faultCrash)
	n.crash(tear)
	s.restartLater(n, 100+s.e.rng.Int64N(1900))
}

func (s *sim) maxDown() int { return (s.p.Nodes - 1) / 2 }

func (s *sim) down() int {
	d := 0
	for _, n := range s.nodes {
		if !n.running() {
			d++
		}
	}
	return d
}

func (s *sim) pickNode(ok func(*node) bool) *node {
	var c []*node
	for _, n := range s.nodes {
		if ok(n) {
			c = append(c, n)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[s.e.rng.IntN(len(c))]
}

func (s *sim) restartLater(n *node, ms int64) {
	inc := n.incarnation
	s.e.after(ms, func() {
		if n.incarnation == inc && !n.up && !n.failed {
			s.e.trace("restart", int64(n.id), 0, "")
			n.boot()
		}
	})
}

// startPartition cuts the network one of four ways and heals it later.
func (s *sim) startPartition() {
	e, nodes := s.e, s.p.Nodes
	cutBoth := func(a, b int) { s.net.cut[a][b], s.net.cut[b][a] = true, true }
	switch e.rng.IntN(4) {
	case 0: // isolate one node
		a := e.rng.IntN(nodes)
		for b := range nodes {
			if b != a {
				cutBoth(a, b)
			}
		}
		s.count(faultPartitionOne)
		e.trace("isolate", int64(a), 0, "")
	case 1: // split into two halves
		perm := e.rng.Perm(nodes)
		half := perm[:nodes/2]
		for _, a := range half {
			for _, b := range perm[nodes/2:] {
				cutBoth(a, b)
			}
		}
		s.count(faultPartitionHalves)
		e.trace("split", int64(len(half)), 0, "")
	case 2: // isolate the leader of a random shard
		a := s.someLeader()
		if a < 0 {
			return
		}
		for b := range nodes {
			if b != a {
				cutBoth(a, b)
			}
		}
		s.count(faultPartitionLeader)
		e.trace("isolate-leader", int64(a), 0, "")
	case 3: // one way: a cannot send to the others
		a := e.rng.IntN(nodes)
		for b := range nodes {
			if b != a {
				s.net.cut[a][b] = true
			}
		}
		s.count(faultPartitionOneWay)
		e.trace("one-way", int64(a), 0, "")
	}
	s.partitioned = true
	e.after(200+e.rng.Int64N(1800), func() {
		s.net.heal()
		s.partitioned = false
		e.trace("heal", 0, 0, "")
	})
}

// someLeader is the broker leading a randomly chosen shard, or -1.
func (s *sim) someLeader() int {
	var leaders []int
	for _, n := range s.nodes {
		if !n.running() {
			continue
		}
		for _, id := range n.order {
			if n.replicas[id].rn.BasicStatus().RaftState == raft.StateLeader {
				leaders = append(leaders, int(n.id))
			}
		}
	}
	if len(leaders) == 0 {
		return -1
	}
	return leaders[s.e.rng.IntN(len(leaders))]
}

// corruptOne flips bytes of one durable, non-last log entry on one node
// (the run's only corruption victim) and crashes it, so the corruption is
// met at restart.
func (s *sim) corruptOne() {
	n := s.pickNode(func(n *node) bool { return n.up })
	if n == nil || s.down() >= s.maxDown() {
		return
	}
	var shards []uint64
	for id, d := range n.disk.durable {
		if len(d.entries) >= 2 {
			shards = append(shards, id)
		}
	}
	if len(shards) == 0 {
		return
	}
	slices.Sort(shards)
	d := n.disk.durable[shards[s.e.rng.IntN(len(shards))]]
	i := s.e.rng.IntN(len(d.entries) - 1)
	bad := append([]byte(nil), d.entries[i].data...)
	if len(bad) == 0 {
		return
	}
	bad[s.e.rng.IntN(len(bad))] ^= 0x5a
	d.entries[i] = diskRecord{data: bad, crc: d.entries[i].crc}
	s.corruptVictim = int(n.id)
	s.count(faultCorrupt)
	s.e.trace("corrupt", int64(n.id), int64(i), "")
	n.crash(false)
	s.restartLater(n, 100+s.e.rng.Int64N(500))
}
