package sim

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	lin "github.com/tidemark/tidemark/linearizability"
)

// simGroup is the one consumer group the members form.
const simGroup = "g0"

// member is a consumer-group member of Kafka's classic protocol: join,
// sync (the leader runs a round-robin assignor), heartbeat, and a work
// loop that fetches its committed offset, fetches records from there and
// commits the new position. Now and then it stalls for longer than its
// session (a long GC or processing pause) and, on waking, commits with
// the generation it had: a zombie, which the coordinator must fence.
type member struct {
	s        *sim
	c        *client
	memberID string
	gen      int32
	assigned []lin.TopicPartition
	lastHB   int64
	work     int
	stalled  bool
}

func (s *sim) newMember() {
	m := &member{s: s, gen: -1}
	m.c = s.newClient(func(c *client) { m.step() })
	m.c.later(400 + s.e.rng.Int64N(1500))
}

func (m *member) shard() (uint64, bool) {
	meta := m.c.meta
	if meta.groupShards == 0 {
		return 0, false
	}
	return uint64(meta.groupShardID[controller.GroupShardIndex(simGroup, meta.groupShards)]), true
}

func (m *member) step() {
	s, c := m.s, m.c
	if s.quiesce || s.failure != nil || s.ops >= s.p.MaxOps {
		return
	}
	if len(c.meta.topics) < s.p.Topics || !s.ready {
		c.refresh(func() { c.later(retryBackoffMs) })
		return
	}
	switch {
	case m.gen < 0:
		m.join()
	case s.e.now-m.lastHB >= heartbeatEveryMs && !m.stalled:
		m.heartbeat()
	case len(m.assigned) > 0:
		if !m.stalled && s.e.rng.IntN(20) == 0 {
			m.stalled = true
			s.e.trace("member-stall", int64(c.id), 0, "")
			c.later(groupSessionMs + 500 + s.e.rng.Int64N(1000))
			return
		}
		m.stalled = false
		m.consume()
	default:
		c.later(100)
	}
}

func (m *member) rejoin(resetID bool) {
	if resetID {
		m.memberID = ""
	}
	m.gen, m.assigned = -1, nil
	m.c.later(retryBackoffMs)
}

func (m *member) sendGroup(cmd group.Command, onReply func(*response)) {
	shard, ok := m.shard()
	if !ok {
		m.c.refresh(func() { m.c.later(retryBackoffMs) })
		return
	}
	m.c.send(m.c.route(shard), &request{kind: reqGroup, shard: shard, grp: cmd}, onReply)
}

func (m *member) join() {
	s := m.s
	var topics []string
	for t := range s.p.Topics {
		topics = append(topics, topicName(t))
	}
	md := kmsg.ConsumerMemberMetadata{Version: 0, Topics: topics}
	cmd := group.Join{Group: simGroup, MemberID: m.memberID, ClientID: "sim", ClientHost: "sim",
		SessionTimeoutMs: groupSessionMs, RebalanceTimeoutMs: groupRebalanceMs, ProtocolType: "consumer",
		Protocols: []group.Protocol{{Name: "roundrobin", Metadata: md.AppendTo(nil)}}}
	m.sendGroup(cmd, func(r *response) {
		if r == nil || r.notLeader {
			m.c.later(retryBackoffMs)
			return
		}
		res, ok := r.grp.(group.JoinResult)
		if !ok {
			m.c.later(retryBackoffMs)
			return
		}
		switch {
		case res.Err != nil && res.Err.Code == core.MemberIDRequired:
			m.memberID = res.MemberID
			m.c.later(0)
		case res.Err != nil:
			m.rejoin(res.Err.Code == core.UnknownMemberID)
		default:
			m.memberID, m.gen = res.MemberID, res.Generation
			m.sync(res)
		}
	})
}

// assign is the leader's assignor: partitions round-robin over the
// members sorted by id (the planted double-assign bug gives every member
// every partition).
func (m *member) assign(members []group.JoinMember) []group.MemberAssignment {
	s := m.s
	ids := make([]string, len(members))
	for i, jm := range members {
		ids[i] = jm.MemberID
	}
	slices.Sort(ids)
	per := make([]map[string][]int32, len(ids))
	for i := range per {
		per[i] = make(map[string][]int32)
	}
	k := 0
	for t := range s.p.Topics {
		for p := range s.p.PartitionsPerTopic {
			if s.bugs.has(BugDoubleAssign) {
				for i := range per {
					per[i][topicName(t)] = append(per[i][topicName(t)], int32(p))
				}
				continue
			}
			per[k%len(ids)][topicName(t)] = append(per[k%len(ids)][topicName(t)], int32(p))
			k++
		}
	}
	var out []group.MemberAssignment
	for i, id := range ids {
		a := kmsg.ConsumerMemberAssignment{Version: 0}
		for t := range s.p.Topics {
			if ps := per[i][topicName(t)]; len(ps) > 0 {
				a.Topics = append(a.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: topicName(t), Partitions: ps})
			}
		}
		out = append(out, group.MemberAssignment{MemberID: id, Assignment: a.AppendTo(nil)})
	}
	return out
}

func (m *member) sync(jr group.JoinResult) {
	s := m.s
	cmd := group.Sync{Group: simGroup, Generation: m.gen, MemberID: m.memberID}
	if jr.LeaderID == m.memberID {
		cmd.Assignments = m.assign(jr.Members)
	}
	s.ops++
	op := s.rec.Invoke(m.c.id, s.e.now, &lin.Assign{Group: simGroup})
	m.sendGroup(cmd, func(r *response) {
		if r == nil || r.notLeader {
			_ = s.rec.Abandon(op, s.e.now, "no answer")
			m.rejoin(false)
			return
		}
		res, ok := r.grp.(group.SyncResult)
		if !ok || res.Err != nil {
			_ = s.rec.Fail(op, s.e.now, "sync failed")
			m.rejoin(ok && res.Err != nil && res.Err.Code == core.UnknownMemberID)
			return
		}
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(res.Assignment); err != nil && len(res.Assignment) > 0 {
			s.fail("invariant:assignment-decodes", "member %s: %v", m.memberID, err)
			return
		}
		m.assigned = nil
		for _, t := range a.Topics {
			for _, p := range t.Partitions {
				m.assigned = append(m.assigned, lin.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
		s.opsOK++
		_ = s.rec.Complete(op, s.e.now, &lin.AssignResult{Member: m.memberID, Generation: m.gen, Partitions: m.assigned})
		m.lastHB = s.e.now
		m.c.later(0)
	})
}

func (m *member) heartbeat() {
	m.sendGroup(group.Heartbeat{Group: simGroup, Generation: m.gen, MemberID: m.memberID}, func(r *response) {
		if r == nil || r.notLeader {
			m.c.later(retryBackoffMs)
			return
		}
		res, _ := r.grp.(group.HeartbeatResult)
		if res.Err != nil {
			m.rejoin(res.Err.Code == core.UnknownMemberID)
			return
		}
		m.lastHB = m.s.e.now
		m.c.later(0)
	})
}

// consume: fetch the committed offset of one assigned partition, fetch
// from there, commit the position after what was read.
func (m *member) consume() {
	s, c := m.s, m.c
	tp := m.assigned[m.work%len(m.assigned)]
	m.work++
	gshard, ok := m.shard()
	pshard, ok2 := c.partitionShard(tp.Topic, tp.Partition)
	if !ok || !ok2 || !s.canStart() {
		c.later(retryBackoffMs)
		return
	}
	op := s.rec.Invoke(c.id, s.e.now, &lin.FetchCommitted{Group: simGroup, Topic: tp.Topic, Partition: tp.Partition})
	req := &request{kind: reqOffsetFetch, shard: gshard, group: simGroup,
		tps: []group.TopicPartition{{Topic: tp.Topic, Partition: tp.Partition}}}
	c.send(c.route(gshard), req, func(r *response) {
		if r == nil || r.notLeader || r.err != nil || len(r.offsets) != 1 {
			if r == nil {
				_ = s.rec.Abandon(op, s.e.now, "timeout")
			} else {
				_ = s.rec.Fail(op, s.e.now, "error")
			}
			c.later(retryBackoffMs)
			return
		}
		committed := r.offsets[0].Offset
		s.opsOK++
		_ = s.rec.Complete(op, s.e.now, &lin.FetchCommittedResult{Offset: committed})
		from := max(committed, 0)
		s.fetch(c, tp.Topic, tp.Partition, pshard, from, func(next int64) {
			if next <= from {
				c.later(50)
				return
			}
			m.commit(tp, next)
		})
	})
}

func (m *member) commit(tp lin.TopicPartition, offset int64) {
	s, c := m.s, m.c
	op := s.rec.Invoke(c.id, s.e.now, &lin.Commit{Group: simGroup, Topic: tp.Topic, Partition: tp.Partition,
		Generation: m.gen, Member: m.memberID, Offset: offset})
	cmd := group.CommitOffsets{Group: simGroup, Generation: m.gen, MemberID: m.memberID,
		Offsets: []group.OffsetCommit{{Topic: tp.Topic, Partition: tp.Partition, Offset: offset, LeaderEpoch: -1}}}
	m.sendGroup(cmd, func(r *response) {
		switch {
		case r == nil:
			_ = s.rec.Abandon(op, s.e.now, "timeout")
		case r.notLeader:
			_ = s.rec.Fail(op, s.e.now, "not leader")
		default:
			res, _ := r.grp.(group.CommitOffsetsResult)
			if len(res.Partitions) == 1 && res.Partitions[0].Err == nil {
				s.opsOK++
				_ = s.rec.Complete(op, s.e.now, &lin.CommitResult{})
			} else {
				_ = s.rec.Fail(op, s.e.now, "commit rejected")
				if len(res.Partitions) == 1 {
					code := res.Partitions[0].Err.Code
					if code == core.RebalanceInProgress || code == core.IllegalGeneration || code == core.UnknownMemberID {
						m.rejoin(code == core.UnknownMemberID)
						return
					}
				}
			}
		}
		c.later(s.e.rng.Int64N(20))
	})
}
