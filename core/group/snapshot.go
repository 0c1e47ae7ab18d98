package group

import (
	"fmt"
	"hash/fnv"

	"github.com/tidemark/tidemark/core/codec"
)

// Snapshot returns the shard's whole state: every group with its members
// (including which of them await a join or sync response), pending member
// ids and offsets, the member-id sequence and the latest time applied.
// The bytes are deterministic: groups, members, pending ids and offsets
// are written in sorted order, so two replicas in the same state produce
// the same bytes.
//
// Parked requests themselves are not state: after a restore (or a leader
// change) the runtime has no waiters, and completions for the members
// marked awaiting find none; those clients time out and retry, as Kafka
// clients do when a coordinator moves.
func (c *Coordinator) Snapshot() []byte {
	w := codec.NewWriter(256)
	w.Uint8(encodingVersion)
	w.Int64(c.lastNowMs)
	w.Uint64(c.seq)
	ids := c.sortedGroupIDs()
	w.Count(len(ids))
	for _, id := range ids {
		g := c.groups[id]
		w.String(g.id)
		w.Uint8(uint8(g.state))
		w.Int64(g.stateSinceMs)
		w.String(g.protocolType)
		w.String(g.protocol)
		w.Int32(g.generation)
		w.String(g.leader)
		w.Int64(g.joinDeadlineMs)
		w.Bool(g.initialDelay)
		w.Int64(g.delayRemainingMs)
		w.Bool(g.newMemberAdded)
		w.Int64(g.syncDeadlineMs)

		members := g.sortedMembers()
		// Sorted by id in the encoding (join order is in joinSeq).
		sortMembersByID(members)
		w.Count(len(members))
		for _, m := range members {
			w.String(m.id)
			w.Uint64(m.joinSeq)
			w.String(m.clientID)
			w.String(m.clientHost)
			w.Int32(m.sessionTimeoutMs)
			w.Int32(m.rebalanceTimeoutMs)
			w.Count(len(m.protocols))
			for _, p := range m.protocols {
				w.String(p.Name)
				w.ByteString(p.Metadata)
			}
			w.Bool(m.awaitingJoin)
			w.Bool(m.awaitingSync)
			w.Bool(m.pendingSync)
			w.ByteString(m.assignment)
			w.Int32(m.assignmentGen)
			w.Int64(m.lastHeardMs)
		}
		pending := g.sortedPending()
		w.Count(len(pending))
		for _, pid := range pending {
			w.String(pid)
			w.Int64(g.pending[pid])
		}
		tps := g.sortedOffsets()
		w.Count(len(tps))
		for _, tp := range tps {
			o := g.offsets[tp]
			w.String(tp.Topic)
			w.Int32(tp.Partition)
			w.Int64(o.offset)
			w.Int32(o.leaderEpoch)
			w.String(o.metadata)
			w.Int64(o.commitMs)
		}
	}
	c.writeTopicIDs(w)
	return w.Bytes()
}

// writeTopicIDs appends the optional topic-id section: every offset
// committed with a topic id, by group and then topic and partition. It is
// written only when there is one, so a shard whose offsets carry no ids
// keeps the snapshot bytes it had before ids existed.
func (c *Coordinator) writeTopicIDs(w *codec.Writer) {
	type entry struct {
		group string
		tp    TopicPartition
		id    [16]byte
	}
	var es []entry
	for _, id := range c.sortedGroupIDs() {
		g := c.groups[id]
		for _, tp := range g.sortedOffsets() {
			if o := g.offsets[tp]; o.topicID != ([16]byte{}) {
				es = append(es, entry{group: id, tp: tp, id: o.topicID})
			}
		}
	}
	if len(es) == 0 {
		return
	}
	w.Count(len(es))
	for _, e := range es {
		w.String(e.group)
		w.String(e.tp.Topic)
		w.Int32(e.tp.Partition)
		writeTopicID(w, e.id)
	}
}

// readTopicIDs reads the section writeTopicIDs wrote, if present: at
// least one entry, in order, each naming a restored offset, ids non-zero.
func (c *Coordinator) readTopicIDs(r *codec.Reader) {
	if r.Err() != nil || r.Remaining() == 0 {
		return
	}
	n := r.Count(maxDecodeCount, 26)
	if n == 0 && r.Err() == nil {
		r.Fail(fmt.Errorf("group: snapshot topic-id section without entries"))
	}
	var prevGroup string
	var prevTP TopicPartition
	for i := 0; i < n && r.Err() == nil; i++ {
		gid := r.String(maxDecodeNameBytes)
		tp := TopicPartition{Topic: r.String(maxDecodeNameBytes), Partition: r.Int32()}
		id := readTopicID(r)
		if r.Err() != nil {
			return
		}
		if i > 0 && (gid < prevGroup || (gid == prevGroup && !lessTP(prevTP, tp))) {
			r.Fail(fmt.Errorf("group: snapshot topic ids out of order at %q %s/%d", gid, tp.Topic, tp.Partition))
			return
		}
		prevGroup, prevTP = gid, tp
		g := c.groups[gid]
		if g == nil {
			r.Fail(fmt.Errorf("group: snapshot topic id for unknown group %q", gid))
			return
		}
		o, ok := g.offsets[tp]
		if !ok || id == ([16]byte{}) {
			r.Fail(fmt.Errorf("group: snapshot topic id for %q %s/%d: no such offset, or a zero id", gid, tp.Topic, tp.Partition))
			return
		}
		o.topicID = id
		g.offsets[tp] = o
	}
}

func sortMembersByID(ms []*member) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].id < ms[j-1].id; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// StateHash is a hash of Snapshot: equal on replicas in the same state.
func (c *Coordinator) StateHash() uint64 {
	h := fnv.New64a()
	h.Write(c.Snapshot())
	return h.Sum64()
}

// Restore rebuilds a coordinator from Snapshot's bytes. It never panics:
// truncated or corrupt input, keys out of order, and states that break
// the coordinator's invariants are errors. cfg must be the shard's
// configuration; bounds are not re-checked against the restored state
// (a shard whose limits were lowered keeps what it holds).
func Restore(cfg Config, b []byte) (*Coordinator, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r := codec.NewReader(b)
	readVersion(r, "snapshot")
	c.lastNowMs = r.Int64()
	c.seq = r.Uint64()
	n := r.Count(maxDecodeCount, 40)
	prevGroup := ""
	for i := 0; i < n && r.Err() == nil; i++ {
		g := newGroupState(r.String(maxDecodeNameBytes), 0)
		g.state = State(r.Uint8())
		g.stateSinceMs = r.Int64()
		g.protocolType = r.String(maxDecodeNameBytes)
		g.protocol = r.String(maxDecodeNameBytes)
		g.generation = r.Int32()
		g.leader = r.String(maxDecodeNameBytes)
		g.joinDeadlineMs = r.Int64()
		g.initialDelay = r.Bool()
		g.delayRemainingMs = r.Int64()
		g.newMemberAdded = r.Bool()
		g.syncDeadlineMs = r.Int64()
		if i > 0 && g.id <= prevGroup {
			r.Fail(fmt.Errorf("group: snapshot groups out of order at %q", g.id))
		}
		prevGroup = g.id

		nm := r.Count(maxDecodeCount, 60)
		prevMember := ""
		for j := 0; j < nm && r.Err() == nil; j++ {
			m := &member{id: r.String(maxDecodeNameBytes), joinSeq: r.Uint64(), clientID: r.String(maxDecodeNameBytes),
				clientHost: r.String(maxDecodeNameBytes), sessionTimeoutMs: r.Int32(), rebalanceTimeoutMs: r.Int32()}
			np := r.Count(maxDecodeCount, 8)
			for k := 0; k < np && r.Err() == nil; k++ {
				m.protocols = append(m.protocols, Protocol{Name: r.String(maxDecodeNameBytes), Metadata: ownedBytes(r.ByteString(maxDecodeBlobBytes))})
			}
			m.awaitingJoin = r.Bool()
			m.awaitingSync = r.Bool()
			m.pendingSync = r.Bool()
			m.assignment = ownedBytes(r.ByteString(maxDecodeBlobBytes))
			m.assignmentGen = r.Int32()
			m.lastHeardMs = r.Int64()
			if j > 0 && m.id <= prevMember {
				r.Fail(fmt.Errorf("group: snapshot members of %q out of order at %q", g.id, m.id))
			}
			prevMember = m.id
			if m.joinSeq > c.seq {
				r.Fail(fmt.Errorf("group: snapshot member %q joined at sequence %d beyond %d", m.id, m.joinSeq, c.seq))
			}
			g.members[m.id] = m
		}
		npend := r.Count(maxDecodeCount, 12)
		prevPending := ""
		for j := 0; j < npend && r.Err() == nil; j++ {
			pid := r.String(maxDecodeNameBytes)
			if j > 0 && pid <= prevPending {
				r.Fail(fmt.Errorf("group: snapshot pending ids of %q out of order at %q", g.id, pid))
			}
			prevPending = pid
			g.pending[pid] = r.Int64()
		}
		noff := r.Count(maxDecodeCount, 32)
		var prevTP TopicPartition
		for j := 0; j < noff && r.Err() == nil; j++ {
			tp := TopicPartition{Topic: r.String(maxDecodeNameBytes), Partition: r.Int32()}
			o := committedOffset{offset: r.Int64(), leaderEpoch: r.Int32(), metadata: r.String(maxDecodeNameBytes), commitMs: r.Int64()}
			if j > 0 && !lessTP(prevTP, tp) {
				r.Fail(fmt.Errorf("group: snapshot offsets of %q out of order at %s/%d", g.id, tp.Topic, tp.Partition))
			}
			prevTP = tp
			g.offsets[tp] = o
		}
		if r.Err() == nil {
			if err := g.check(); err != nil {
				r.Fail(fmt.Errorf("group: snapshot: %w", err))
			}
		}
		c.groups[g.id] = g
	}
	c.readTopicIDs(r)
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("group: restore: %w", err)
	}
	return c, nil
}
