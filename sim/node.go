package sim

import (
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
)

// node is one simulated broker: a disk, a replica of the controller shard,
// and replicas of the partition and group shards the controller assigns to
// it (its reconciler starts them as controller entries apply, as raftsm's
// does).
type node struct {
	s  *sim
	id int32

	up     bool
	paused bool
	// failed: the node found corruption on its disk and stopped for good
	// (fail-stop; re-adding a wiped broker is not simulated).
	failed bool
	// incarnation grows at each crash; events scheduled by an earlier
	// incarnation check it and do nothing.
	incarnation int
	clockSkewMs int64

	disk     *disk
	replicas map[uint64]*replica // by shard id; iterated through order only
	order    []uint64            // shard ids, sorted
	syncing  bool
	// crashArmed: a crash fault waits for this broker's next fsync.
	crashArmed bool
	crashTear  bool

	waiters map[group.Waiter]func(*response) // parked group requests; looked up only

	lastGroupTick int64
	lastRetention int64
}

func (n *node) nowMs() int64 { return n.s.e.now + n.clockSkewMs }

func (n *node) ctrl() *controller.Controller {
	if r := n.replicas[uint64(controller.ControllerShardID)]; r != nil {
		return r.ctrl
	}
	return nil
}

// boot starts the node from its disk: the controller replica first; the
// other replicas follow as the controller's entries are re-applied.
func (n *node) boot() {
	n.up, n.paused, n.syncing = true, false, false
	n.replicas = make(map[uint64]*replica)
	n.order = nil
	n.waiters = make(map[group.Waiter]func(*response))
	info := shardInfo{id: uint64(controller.ControllerShardID)}
	for b := 0; b < n.s.p.Nodes; b++ {
		info.peers = append(info.peers, peer{rid: uint64(b) + 1, broker: int32(b)})
	}
	n.addReplica(info)
	inc := n.incarnation
	n.s.e.after(n.s.e.rng.Int64N(tickMs), func() { n.tickLoop(inc) })
}

func (n *node) addReplica(info shardInfo) {
	if n.failed {
		return
	}
	r, err := n.startReplica(info)
	if err != nil {
		n.s.e.trace("corrupt-stop", int64(n.id), int64(info.id), err.Error())
		n.failed = true
		n.crash(false)
		return
	}
	n.replicas[info.id] = r
	n.order = append(n.order, info.id)
	slices.Sort(n.order)
}

// reconcile starts replicas for every shard the controller assigns here.
func (n *node) reconcile() {
	c := n.ctrl()
	if c == nil || !c.Bootstrapped() {
		return
	}
	for _, s := range c.Shards() {
		if n.replicas[uint64(s.ID)] != nil {
			continue
		}
		info := shardInfo{id: uint64(s.ID), kind: s.Kind, topic: s.Topic, partition: s.Partition}
		mine := false
		for _, rep := range s.InitialReplicas {
			info.peers = append(info.peers, peer{rid: uint64(rep.ReplicaID), broker: rep.BrokerID})
			mine = mine || rep.BrokerID == n.id
		}
		if !mine {
			continue
		}
		slices.SortFunc(info.peers, func(a, b peer) int { return int(a.rid) - int(b.rid) })
		n.addReplica(info)
		if n.failed {
			return
		}
	}
}

// crash stops the node: memory is lost, pending disk writes are kept only
// in part (maybe torn), parked requests are forgotten.
func (n *node) crash(tear bool) {
	if !n.up {
		return
	}
	keep := 0
	if len(n.disk.pending) > 0 {
		keep = n.s.e.rng.IntN(len(n.disk.pending) + 1)
	}
	if n.disk.crash(keep, tear) {
		n.s.count(faultTorn)
	}
	n.up = false
	n.incarnation++
	n.replicas = nil
	n.order = nil
	n.waiters = nil
	n.syncing = false
}

func (n *node) running() bool { return n.up && !n.paused }

// tickLoop ticks every replica each tickMs and runs the leader duties raftsm
// runs on timers: group Ticks and retention.
func (n *node) tickLoop(inc int) {
	if n.incarnation != inc || !n.up {
		return
	}
	n.s.e.after(tickMs, func() { n.tickLoop(inc) })
	if n.paused {
		return
	}
	for _, id := range n.order {
		n.replicas[id].rn.Tick()
	}
	now := n.s.e.now
	if n.s.bugs.has(BugAckWithoutFsync) && now%bugFlushIntervalMs < tickMs {
		n.disk.sync()
	}
	// The liveness phase stops timer proposals, so the shards can be
	// seen at rest.
	if n.s.quiesce {
		n.processReady()
		return
	}
	if now-n.lastGroupTick >= groupTickIntervalMs {
		n.lastGroupTick = now
		n.proposeGroupTicks()
	}
	if now-n.lastRetention >= retentionIntervalMs {
		n.lastRetention = now
		n.proposeRetention()
	}
	n.processReady()
}

// proposeGroupTicks mirrors raftsm: a Tick to each group shard this node
// leads that holds any group.
func (n *node) proposeGroupTicks() {
	for _, id := range n.order {
		r := n.replicas[id]
		if r.grp != nil && r.isLeader() && r.grp.HasGroups() {
			_ = r.rn.Propose(encodeEntry(0, group.EncodeCommand(group.Tick{NowMs: n.nowMs()})))
		}
	}
}

// proposeRetention mirrors raftsm: each partition leader proposes Retain
// with its topic's retention settings.
func (n *node) proposeRetention() {
	c := n.ctrl()
	if c == nil {
		return
	}
	for _, id := range n.order {
		r := n.replicas[id]
		if r.log == nil || !r.isLeader() {
			continue
		}
		t, ok := c.Topic(r.info.topic)
		if !ok {
			continue
		}
		set := controller.LogSettingsOf(t.Configs)
		_ = r.rn.Propose(encodeEntry(0, encodePartitionRetain(n.nowMs(), set.RetentionMs, set.RetentionBytes)))
	}
}

// processReady handles every replica's Ready: write what Raft asks to
// persist, then (after the simulated fsync) send messages, apply committed
// entries and answer reads. One sync is in flight per node at a time.
func (n *node) processReady() {
	if !n.running() || n.syncing {
		return
	}
	type work struct {
		r  *replica
		rd raft.Ready
	}
	var ws []work
	for _, id := range n.order {
		r := n.replicas[id]
		if !r.rn.HasReady() {
			continue
		}
		rd := r.rn.Ready()
		if rd.SoftState != nil && rd.SoftState.RaftState == raft.StateLeader {
			r.everLed = true
			r.predictedEnd = -1
			n.s.leaderElected(r)
		}
		// A received snapshot first, then entries, then the HardState: a
		// crash keeps a prefix of the writes, so a persisted commit index
		// never outruns the log.
		if !raft.IsEmptySnap(rd.Snapshot) {
			if err := r.mem.ApplySnapshot(rd.Snapshot); err != nil {
				panic(err)
			}
			n.disk.writeSnapshot(id, rd.Snapshot, false)
		}
		if len(rd.Entries) > 0 {
			if err := r.mem.Append(rd.Entries); err != nil {
				panic(err)
			}
			n.disk.writeEntries(id, rd.Entries)
		}
		if !raft.IsEmptyHardState(rd.HardState) {
			_ = r.mem.SetHardState(rd.HardState)
			n.disk.writeHardState(id, rd.HardState)
		}
		ws = append(ws, work{r, rd})
	}
	if len(ws) == 0 {
		return
	}
	finish := func() {
		for _, w := range ws {
			n.afterSync(w.r, w.rd)
		}
	}
	if n.s.bugs.has(BugAckWithoutFsync) {
		// Planted: messages go out and entries apply without an fsync;
		// the disk is flushed only every bugFlushIntervalMs (the OS's
		// writeback), so a crash loses acknowledged entries and votes.
		finish()
		n.processReady()
		return
	}
	inc := n.incarnation
	if n.crashArmed && n.s.faultsOn {
		// An armed crash strikes during this fsync (scheduled first, so
		// at equal times it runs before the sync completes).
		n.crashArmed = false
		tear := n.crashTear
		n.s.e.after(n.s.e.rng.Int64N(n.s.p.FsyncMs+1), func() {
			if n.incarnation == inc {
				n.s.crashNode(n, tear)
			}
		})
	}
	n.syncing = true
	n.s.e.after(n.s.p.FsyncMs, func() {
		if n.incarnation != inc || !n.up {
			return
		}
		n.disk.sync()
		n.syncing = false
		finish()
		n.processReady()
	})
}

func (n *node) afterSync(r *replica, rd raft.Ready) {
	if n.replicas[r.info.id] != r {
		return
	}
	for _, m := range rd.Messages {
		n.s.sendRaft(n.id, r.brokerOf(m.To), r.info.id, m)
		if m.Type == raftpb.MsgSnap {
			// The simulated network has no snapshot stream to report
			// on: report success; if the message is lost, the leader
			// probes the follower and sends the snapshot again.
			r.rn.ReportSnapshot(m.To, raft.SnapshotFinish)
		}
	}
	if !raft.IsEmptySnap(rd.Snapshot) && rd.Snapshot.Metadata.Index > r.applied {
		if err := r.restore(rd.Snapshot); err != nil {
			panic(fmt.Sprintf("sim: snapshot from the leader does not restore: %v", err))
		}
		n.s.count(faultSnapshotInstall)
		n.s.e.trace4("install-snapshot", int64(r.info.id), int64(n.id), int64(r.applied), 0)
	}
	for _, e := range rd.CommittedEntries {
		n.apply(r, e)
	}
	r.maybeSnapshot()
	for _, rs := range rd.ReadStates {
		ctx := decodeReadCtx(rs.RequestCtx)
		for i := range r.reads {
			if r.reads[i].ctx == ctx && r.reads[i].index == 0 {
				r.reads[i].index = rs.Index
			}
		}
	}
	r.rn.Advance(rd)
	n.serveReads(r)
	if r.info.kind == 0 {
		n.reconcile()
	}
}

// receiveRaft delivers a Raft message to the local replica of shard.
func (n *node) receiveRaft(shard uint64, m raftpb.Message) {
	if !n.running() {
		return
	}
	r := n.replicas[shard]
	if r == nil {
		return
	}
	_ = r.rn.Step(m)
	n.processReady()
}

// apply applies one committed entry to the replica's state machine and
// answers the client if this broker proposed it.
func (n *node) apply(r *replica, e raftpb.Entry) {
	if e.Index <= r.applied {
		return
	}
	r.applied = e.Index
	n.s.checkCommitted(r, e)
	if e.Type != raftpb.EntryNormal || len(e.Data) == 0 {
		return
	}
	reqID, cmd, ok := decodeEntry(e.Data)
	if !ok {
		return
	}
	p := r.proposals[reqID]
	if p != nil {
		delete(r.proposals, reqID)
	}
	resp := &response{leader: -1}
	switch {
	case r.ctrl != nil:
		c, err := controller.DecodeCommand(cmd)
		if err != nil {
			return
		}
		resp.ctrl = r.ctrl.Apply(c)
	case r.log != nil:
		resp.produce = n.applyPartition(r, cmd)
	case r.grp != nil:
		c, err := group.DecodeCommand(cmd)
		if err != nil {
			return
		}
		out := r.grp.Apply(c)
		resp.grp = out.Result
		for _, comp := range out.Completions {
			if w := n.waiters[comp.Waiter()]; w != nil {
				delete(n.waiters, comp.Waiter())
				cr := &response{leader: -1}
				switch c := comp.(type) {
				case group.JoinCompletion:
					cr.grp = c.Response
				case group.SyncCompletion:
					cr.grp = c.Response
				}
				w(cr)
			}
		}
		if p != nil {
			if w, parked := parkedWaiter(out.Result); parked {
				w.Group = groupOf(c)
				n.waiters[w] = p.reply
				return
			}
		}
	}
	// With BugAckBeforeCommit a produce was answered when proposed.
	answered := r.log != nil && n.s.bugs.has(BugAckBeforeCommit)
	if p != nil && !answered {
		p.reply(resp)
	}
}

func parkedWaiter(res group.Result) (group.Waiter, bool) {
	switch x := res.(type) {
	case group.JoinResult:
		return group.Waiter{MemberID: x.MemberID, Kind: group.WaitJoin}, x.Parked
	case group.SyncResult:
		return group.Waiter{MemberID: x.MemberID, Kind: group.WaitSync}, x.Parked
	}
	return group.Waiter{}, false
}

func groupOf(c group.Command) string {
	switch x := c.(type) {
	case group.Join:
		return x.Group
	case group.Sync:
		return x.Group
	}
	return ""
}

func notLeader(leader int32) *response {
	return &response{notLeader: true, leader: leader, err: core.Errorf(core.NotLeaderOrFollower, "not the leader")}
}
