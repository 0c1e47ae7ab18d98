package sim

import (
	"encoding/binary"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	"github.com/tidemark/tidemark/core/partition"
)

// The request handlers of a simulated broker. They do what net/'s handlers
// do over raftsm (check leadership, stamp the proposer's clock and term,
// propose, answer when the entry applies), written against the
// single-threaded simulator instead of net's blocking Cluster interface;
// docs/simulation.md explains why.

// maxMessageBytes is the topic's max.message.bytes the simulated brokers
// stamp (Kafka's default).
const maxMessageBytes = 1 << 20

// handle answers req, now or later, through reply.
func (n *node) handle(req *request, reply func(*response)) {
	if !n.running() {
		return // a crashed or paused broker answers nothing; the client times out
	}
	if req.kind == reqMetadata {
		reply(&response{meta: n.metadata()})
		return
	}
	r := n.replicas[req.shard]
	if r == nil {
		reply(notLeader(-1))
		return
	}
	switch req.kind {
	case reqFetch, reqListOffsets, reqOffsetFetch:
		// OffsetFetch reads the coordinator's applied state, as Kafka
		// does; like a fetch it goes through a read index.
		n.handleRead(r, req, reply)
		return
	}
	if !r.isLeader() {
		reply(notLeader(r.leaderBroker()))
		return
	}
	var cmd []byte
	switch req.kind {
	case reqController:
		cmd = controller.EncodeCommand(req.ctrl)
	case reqGroup:
		c := n.stampGroup(req.grp)
		if cm, ok := c.(group.CommitOffsets); ok && n.s.bugs.has(BugStaleGenerationCommit) {
			// Planted: the handler "repairs" a commit from an old
			// generation into one from the group's current leader, so a
			// zombie's commit is accepted.
			if d, err := r.grp.DescribeGroup(cm.Group); err == nil && cm.Generation >= 0 && cm.Generation < d.Generation && d.LeaderID != "" {
				cm.Generation, cm.MemberID = d.Generation, d.LeaderID
				c = cm
			}
		}
		cmd = group.EncodeCommand(c)
	case reqProduce:
		records := req.records
		if n.s.bugs.has(BugSkipDedupe) {
			records = stripProducer(records)
		}
		cmd = partition.EncodeCommand(partition.Produce{
			NowMs: n.nowMs(), LeaderEpoch: int32(r.rn.BasicStatus().Term),
			MaxMessageBytes: maxMessageBytes, Records: records,
		})
	default:
		reply(&response{err: core.Errorf(core.InvalidRequest, "unknown request kind %d", req.kind)})
		return
	}
	if err := r.rn.Propose(encodeEntry(req.id, cmd)); err != nil {
		reply(notLeader(r.leaderBroker()))
		return
	}
	r.proposals[req.id] = &pending{req: req, reply: reply}
	if req.kind == reqProduce && n.s.bugs.has(BugAckBeforeCommit) {
		// Planted: answer as soon as the entry is in the leader's log,
		// with the offset it would get if it committed.
		if r.predictedEnd < 0 {
			r.predictedEnd = r.log.Offsets().LogEndOffset
		}
		base := r.predictedEnd
		if h, ok := batch.ParseHeader(req.records); ok {
			r.predictedEnd += int64(h.LastOffsetDelta) + 1
		}
		reply(&response{leader: -1, produce: partition.ProduceResult{BaseOffset: base, LogAppendTimeMs: -1}})
	}
	n.processReady()
}

// stampGroup stamps the proposer's clock into a group command.
func (n *node) stampGroup(c group.Command) group.Command {
	now := n.nowMs()
	switch x := c.(type) {
	case group.Join:
		x.NowMs = now
		return x
	case group.Sync:
		x.NowMs = now
		return x
	case group.Heartbeat:
		x.NowMs = now
		return x
	case group.Leave:
		x.NowMs = now
		return x
	case group.CommitOffsets:
		x.NowMs = now
		return x
	}
	return c
}

// handleRead serves a fetch, a list-offsets or an offset fetch from the
// leader's applied state after a ReadIndex round (etcd's ReadOnlySafe:
// the leader confirms with a quorum that it still leads, then waits until
// it has applied up to the commit index it had when the read arrived).
// That makes reads linearizable, which the simulator's checker demands
// (docs/simulation.md, "Reads").
func (n *node) handleRead(r *replica, req *request, reply func(*response)) {
	if n.s.bugs.has(BugDeposedLeaderServes) && r.everLed {
		// Planted: a replica that once led serves reads from its applied
		// state without confirming it still leads.
		reply(n.serve(r, req))
		return
	}
	if !r.isLeader() {
		reply(notLeader(r.leaderBroker()))
		return
	}
	r.reads = append(r.reads, pendingRead{ctx: req.id, req: req, reply: reply})
	r.rn.ReadIndex(encodeReadCtx(req.id))
	n.processReady()
}

func encodeReadCtx(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func decodeReadCtx(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// serveReads answers the reads whose read index has been applied.
func (n *node) serveReads(r *replica) {
	kept := r.reads[:0]
	for _, rd := range r.reads {
		if rd.index == 0 || rd.index > r.applied {
			kept = append(kept, rd)
			continue
		}
		rd.reply(n.serve(r, rd.req))
	}
	r.reads = kept
	// Reads pending at a replica that lost leadership are never
	// confirmed; the clients time out, as Kafka clients would.
}

// serve reads the replica's applied state.
func (n *node) serve(r *replica, req *request) *response {
	resp := &response{leader: -1}
	switch req.kind {
	case reqFetch:
		if r.log == nil {
			return notLeader(-1)
		}
		resp.fetch = r.log.Fetch(req.offset, req.maxBytes)
		n.s.checkHW(r.info.id, resp.fetch.HighWatermark)
		if n.s.bugs.has(BugFetchPastHW) {
			n.appendUncommitted(r, req, &resp.fetch)
		}
	case reqListOffsets:
		if r.log == nil {
			return notLeader(-1)
		}
		resp.list = r.log.ListOffsets(partition.LatestTimestamp)
		n.s.checkHW(r.info.id, resp.list.Offset)
	case reqOffsetFetch:
		if r.grp == nil {
			return notLeader(-1)
		}
		offs, err := r.grp.FetchOffsets(req.group, req.tps)
		if err != nil {
			resp.err = core.Errorf(core.InvalidGroupID, "%v", err)
		}
		resp.offsets = offs
	}
	return resp
}

// appendUncommitted is the planted fetch-past-HW bug: when the fetch is at
// the end of the applied log, it also returns the batches of produce
// entries in the leader's log that are not committed yet, at the offsets
// they would get.
func (n *node) appendUncommitted(r *replica, req *request, f *partition.FetchResult) {
	end := r.log.Offsets().LogEndOffset
	if req.offset != end || f.Err != nil {
		return
	}
	last, _ := r.mem.LastIndex()
	if last <= r.applied {
		return
	}
	ents, err := r.mem.Entries(r.applied+1, last+1, 1<<20)
	if err != nil {
		return
	}
	next := end
	for _, e := range ents {
		if e.Type != raftpb.EntryNormal {
			continue
		}
		_, cmd, ok := decodeEntry(e.Data)
		if !ok {
			continue
		}
		c, err := partition.DecodeCommand(cmd)
		if err != nil {
			continue
		}
		p, ok := c.(partition.Produce)
		if !ok {
			continue
		}
		b := append([]byte(nil), p.Records...)
		h, ok := batch.ParseHeader(b)
		if !ok {
			continue
		}
		batch.SetBaseOffset(b, next)
		batch.UpdateCRC(b)
		f.Records = append(f.Records, b...)
		next += int64(h.LastOffsetDelta) + 1
	}
}

// applyPartition applies a partition command. Store errors cannot happen
// over MemStore; one would be a simulator bug.
func (n *node) applyPartition(r *replica, cmd []byte) partition.ProduceResult {
	c, err := partition.DecodeCommand(cmd)
	if err != nil {
		return partition.ProduceResult{BaseOffset: -1, Err: core.Errorf(core.CorruptMessage, "%v", err)}
	}
	res, err := r.log.Apply(c)
	if err != nil {
		panic("sim: partition store failed: " + err.Error())
	}
	if pr, ok := res.(partition.ProduceResult); ok {
		return pr
	}
	return partition.ProduceResult{BaseOffset: -1}
}

func encodePartitionRetain(nowMs, retentionMs, retentionBytes int64) []byte {
	return partition.EncodeCommand(partition.Retain{NowMs: nowMs, RetentionMs: retentionMs, RetentionBytes: retentionBytes})
}

// stripProducer is the planted skip-dedupe bug: the batch loses its
// producer id, so the partition cannot recognise a retry.
func stripProducer(records []byte) []byte {
	b := append([]byte(nil), records...)
	h, ok := batch.ParseHeader(b)
	if !ok || !h.Idempotent() {
		return records
	}
	// producer id at byte 43, epoch at 51, base sequence at 53 (magic 2).
	binary.BigEndian.PutUint64(b[43:], ^uint64(0))
	binary.BigEndian.PutUint16(b[51:], 0xffff)
	binary.BigEndian.PutUint32(b[53:], 0xffffffff)
	batch.UpdateCRC(b)
	return b
}

// metadata is this broker's view of the cluster.
func (n *node) metadata() *metaView {
	m := &metaView{leaders: make(map[uint64]int32)}
	c := n.ctrl()
	if c == nil || !c.Bootstrapped() {
		return m
	}
	m.bootstrapped = true
	m.topics = c.Topics()
	for _, id := range c.GroupShards() {
		m.groupShardID = append(m.groupShardID, id)
	}
	m.groupShards = int32(len(m.groupShardID))
	for _, id := range n.order {
		r := n.replicas[id]
		if b := r.leaderBroker(); b >= 0 {
			m.leaders[id] = b
		}
	}
	return m
}
