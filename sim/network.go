package sim

import "go.etcd.io/raft/v3/raftpb"

// network is the simulated network between brokers, and between clients
// and brokers. Every message gets its own exponential delay, so messages
// on one path reorder. Between brokers a message may be dropped,
// duplicated, held back by clogging, or cut by a partition (cut[a][b]:
// a's messages to b are lost; a one-way partition sets one direction).
// Client links are only delayed and dropped: clients reach
// every live broker, which is what lets a deposed leader meet them.
type network struct {
	cut       [][]bool
	clogUntil [][]int64 // extra delay on a path until that time
}

func newNetwork(nodes int) *network {
	nw := &network{cut: make([][]bool, nodes), clogUntil: make([][]int64, nodes)}
	for i := range nodes {
		nw.cut[i] = make([]bool, nodes)
		nw.clogUntil[i] = make([]int64, nodes)
	}
	return nw
}

func (nw *network) heal() {
	for i := range nw.cut {
		for j := range nw.cut[i] {
			nw.cut[i][j] = false
			nw.clogUntil[i][j] = 0
		}
	}
}

// delay draws one message's delay on a path.
func (s *sim) delay() int64 { return 1 + s.e.expMs(s.p.NetDelayMeanMs) }

// sendRaft sends a Raft message from broker from to broker to.
func (s *sim) sendRaft(from, to int32, shard uint64, m raftpb.Message) {
	if to < 0 || int(to) >= len(s.nodes) {
		return
	}
	if s.faultsOn {
		if s.net.cut[from][to] {
			s.count(faultPartitionDrop)
			return
		}
		if s.e.chance(s.p.DropPct / 100) {
			s.count(faultDrop)
			return
		}
	}
	copies := 1
	if s.faultsOn && s.e.chance(s.p.DupPct/100) {
		s.count(faultDuplicate)
		copies = 2
	}
	for range copies {
		d := s.delay()
		if until := s.net.clogUntil[from][to]; s.faultsOn && until > s.e.now {
			d += until - s.e.now
		}
		dst := s.nodes[to]
		s.e.after(d, func() {
			s.e.trace4("deliver", int64(shard), int64(m.From)<<32|int64(m.To), int64(m.Type)<<32|int64(m.Term), int64(m.Index))
			dst.receiveRaft(shard, m)
		})
	}
}

// sendClient carries a client message (request or response) and runs
// deliver on arrival. Client links are TCP connections: a message may be
// lost with its connection (the client times out) but is never
// duplicated, since a duplicated produce would be a second produce.
func (s *sim) sendClient(deliver func()) {
	if s.faultsOn && s.e.chance(s.p.DropPct/100) {
		s.count(faultDrop)
		return
	}
	s.e.after(s.delay(), deliver)
}
