package sim

import (
	"fmt"
	"hash/fnv"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	lin "github.com/tidemark/tidemark/linearizability"
)

// client is a simulated Kafka client: it learns leaders from metadata,
// sends one request at a time, retries on NotLeader after a backoff and
// gives up on a request after requestTimeoutMs.
type client struct {
	s    *sim
	id   int
	meta *metaView

	outstanding uint64
	onReply     func(*response)

	// next starts the client's next operation (the workload).
	next func()
}

func (s *sim) newClient(next func(c *client)) *client {
	c := &client{s: s, id: len(s.clients), meta: &metaView{leaders: make(map[uint64]int32)}}
	c.next = func() { next(c) }
	s.clients = append(s.clients, c)
	return c
}

// send sends req to broker b; onReply gets the answer, or nil on timeout.
func (c *client) send(b int32, req *request, onReply func(*response)) {
	s := c.s
	s.reqIDs++
	req.id = s.reqIDs
	req.client = c.id
	c.outstanding = req.id
	c.onReply = onReply
	id := req.id
	dst := s.nodes[b]
	s.e.trace4("send", int64(c.id), int64(id), int64(req.kind)<<32|int64(req.shard), int64(b))
	s.sendClient(func() {
		dst.handle(req, func(resp *response) {
			resp.id = id
			s.sendClient(func() { c.receive(resp) })
		})
	})
	s.e.after(requestTimeoutMs, func() {
		if c.outstanding == id {
			c.outstanding = 0
			s.e.trace("timeout", int64(c.id), int64(id), "")
			// As Kafka clients do: a broker that does not answer is no
			// longer trusted as the leader; the next try asks another.
			delete(c.meta.leaders, c.lastShard())
			onReply(nil)
		}
	})
}

func (c *client) receive(resp *response) {
	if resp.id != c.outstanding {
		return // late or duplicate: the client stopped waiting
	}
	c.outstanding = 0
	nl := int64(0)
	if resp.notLeader {
		nl = 1
	}
	c.s.e.trace4("recv", int64(c.id), int64(resp.id), nl, int64(resp.leader))
	if resp.notLeader {
		if resp.leader >= 0 {
			c.meta.leaders[c.lastShard()] = resp.leader
		} else {
			delete(c.meta.leaders, c.lastShard())
		}
	}
	c.onReply(resp)
}

// lastShardID is recorded by route so NotLeader hints land on the right shard.
func (c *client) lastShard() uint64 { return c.s.lastShard[c.id] }

// route picks the broker for shard: the known leader, else a random one.
func (c *client) route(shard uint64) int32 {
	c.s.lastShard[c.id] = shard
	if b, ok := c.meta.leaders[shard]; ok && c.s.e.rng.IntN(10) != 0 {
		return b
	}
	return int32(c.s.e.rng.IntN(c.s.p.Nodes))
}

// later runs the client's next operation after ms.
func (c *client) later(ms int64) { c.s.e.after(ms, c.next) }

// refresh fetches metadata from a random broker, then runs then.
func (c *client) refresh(then func()) {
	b := int32(c.s.e.rng.IntN(c.s.p.Nodes))
	c.send(b, &request{kind: reqMetadata}, func(r *response) {
		if r != nil && r.meta != nil && r.meta.bootstrapped {
			if len(r.meta.topics) < len(c.meta.topics) {
				// A lagging broker: keep the topics we know of, take its leaders.
				for k, v := range r.meta.leaders {
					c.meta.leaders[k] = v
				}
			} else {
				c.meta = r.meta
			}
		}
		then()
	})
}

// partitionShard resolves topic t's partition p to its shard.
func (c *client) partitionShard(t string, p int32) (uint64, bool) {
	for _, ti := range c.meta.topics {
		if ti.Name == t && int(p) < len(ti.Partitions) {
			return uint64(ti.Partitions[p].Shard), true
		}
	}
	return 0, false
}

func topicName(i int) string { return fmt.Sprintf("t%d", i) }

// ---- admin: bootstrap the controller and create the topics ----

func (s *sim) startClients() {
	s.lastShard = make(map[int]uint64)
	step := 0
	admin := s.newClient(func(c *client) {})
	admin.next = func() {
		if step == s.p.Topics+1 && s.p.GroupMembers > 0 {
			s.seedGroup(admin, func() { step++; admin.later(0) })
			return
		}
		if step > s.p.Topics {
			s.ready, s.readyAt = true, s.e.now
			s.e.trace("ready", 0, 0, "")
			// Faults start once the cluster is set up: a cluster is
			// bootstrapped healthy, and a setup that faults keep from
			// finishing would check nothing.
			s.faultsOn = true
			s.e.after(faultIntervalMs, s.faultLoop)
			return
		}
		var cmd controller.Command
		if step == 0 {
			var brokers []controller.BrokerInfo
			for i := range s.p.Nodes {
				brokers = append(brokers, controller.BrokerInfo{ID: int32(i),
					KafkaAddr: fmt.Sprintf("b%d:9092", i), RaftAddr: fmt.Sprintf("b%d:7000", i), Incarnation: uint64(i) + 1})
			}
			cmd = controller.Bootstrap{ClusterID: "sim", NowMs: s.e.now, GroupShardCount: int32(s.p.GroupShards),
				GroupReplicationFactor: 3, Brokers: brokers}
		} else {
			var id controller.TopicID
			for i := range id {
				id[i] = byte(s.e.rng.IntN(256))
			}
			cmd = controller.CreateTopic{Name: topicName(step - 1), TopicID: id, Partitions: int32(s.p.PartitionsPerTopic),
				ReplicationFactor: 3, NowMs: s.e.now}
		}
		admin.send(admin.route(1), &request{kind: reqController, shard: 1, ctrl: cmd}, func(r *response) {
			if r == nil || r.notLeader {
				admin.later(retryBackoffMs)
				return
			}
			if err := errOf(r.ctrl); err == nil || err.Code == core.TopicAlreadyExists {
				step++
				admin.later(0)
				return
			} else {
				s.e.trace("admin-error", int64(step), 0, err.Error())
			}
			admin.later(retryBackoffMs)
		})
	}
	admin.later(200)
	for i := range s.p.Producers {
		s.newProducer(i)
	}
	for range s.p.Fetchers {
		s.newFetcher()
	}
	for range s.p.GroupMembers {
		s.newMember()
	}
}

func errOf(r controller.Result) *core.Error {
	switch x := r.(type) {
	case controller.BootstrapResult:
		return x.Err
	case controller.CreateTopicResult:
		return x.Err
	}
	return core.Errorf(core.UnknownServerError, "unexpected result %T", r)
}

// canStart reports whether a client may begin a new operation, counting it.
func (s *sim) canStart() bool {
	if s.quiesce || s.ops >= s.p.MaxOps || s.failure != nil {
		return false
	}
	s.ops++
	return true
}

// ---- producers ----

type producer struct {
	c          *client
	idempotent bool
	pid        int64
	seq        map[string]int32 // per "topic/partition"; looked up only
	n          int
	rr         int
}

func (s *sim) newProducer(i int) {
	p := &producer{idempotent: s.e.rng.IntN(100) < s.p.IdempotentPct, seq: make(map[string]int32)}
	p.c = s.newClient(func(c *client) { p.produce() })
	// Producer ids would come from InitProducerId (the controller's
	// AllocateProducerIDs); the simulator gives each idempotent client a
	// fixed one, which is all the partition machine sees.
	p.pid = 1000 + int64(p.c.id)
	p.c.later(300 + s.e.rng.Int64N(200))
}

func (p *producer) produce() {
	s, c := p.s(), p.c
	if len(c.meta.topics) < s.p.Topics {
		c.refresh(func() { c.later(retryBackoffMs) })
		return
	}
	if !s.canStart() {
		return
	}
	topic := topicName(s.e.rng.IntN(s.p.Topics))
	keyed := s.e.rng.IntN(100) < s.p.KeyedPct
	nrec := 1 + s.e.rng.IntN(maxRecordsPerBatch)
	var part int32
	var recs []batch.Record
	var linRecs []lin.Record
	var key string
	if keyed {
		key = fmt.Sprintf("k%d", s.e.rng.IntN(8))
		h := fnv.New32a()
		_, _ = h.Write([]byte(key))
		part = int32(h.Sum32() % uint32(s.p.PartitionsPerTopic))
	} else {
		p.rr++
		part = int32(p.rr % s.p.PartitionsPerTopic)
	}
	for range nrec {
		p.n++
		v := fmt.Sprintf("p%d-%d", c.id, p.n)
		r := batch.Record{Value: []byte(v), TimestampMs: s.e.now}
		if keyed {
			r.Key = []byte(key)
		}
		recs = append(recs, r)
		linRecs = append(linRecs, lin.Record{Key: key, Value: v})
	}
	tp := fmt.Sprintf("%s/%d", topic, part)
	spec := batch.BuildSpec{PartitionLeaderEpoch: -1, Records: recs}
	if p.idempotent {
		spec.Producer = &batch.Producer{ID: p.pid, Epoch: 0, BaseSequence: p.seq[tp]}
	}
	b := batch.Build(spec)
	op := s.rec.Invoke(c.id, s.e.now, &lin.Produce{Topic: topic, Partition: part, Records: linRecs})
	uncertain := false
	var attempt func()
	attempt = func() {
		shard, ok := c.partitionShard(topic, part)
		if !ok {
			c.refresh(attempt)
			return
		}
		c.send(c.route(shard), &request{kind: reqProduce, shard: shard, records: b}, func(r *response) {
			switch {
			case r == nil:
				uncertain = true
				if p.idempotent && s.failure == nil && s.e.now < s.readyAt+s.p.SafetyMs+liveLimitMs/2 {
					c.refresh(attempt) // retry the same batch: dedupe makes it safe
					return
				}
				_ = s.rec.Abandon(op, s.e.now, "timeout")
			case r.notLeader:
				s.e.after(retryBackoffMs, attempt)
				return
			case r.produce.Err != nil:
				if uncertain {
					_ = s.rec.Abandon(op, s.e.now, r.produce.Err.Error())
				} else {
					_ = s.rec.Fail(op, s.e.now, r.produce.Err.Error())
				}
			default:
				s.opsOK++
				p.seq[tp] += int32(nrec)
				_ = s.rec.Complete(op, s.e.now, &lin.ProduceResult{BaseOffset: r.produce.BaseOffset})
			}
			c.later(s.e.rng.Int64N(20))
		})
	}
	attempt()
}

func (p *producer) s() *sim { return p.c.s }

// ---- fetchers ----

func (s *sim) newFetcher() {
	pos := make(map[string]int64) // looked up only
	var c *client
	c = s.newClient(func(c *client) {
		if len(c.meta.topics) < s.p.Topics {
			c.refresh(func() { c.later(retryBackoffMs) })
			return
		}
		if !s.canStart() {
			return
		}
		topic := topicName(s.e.rng.IntN(s.p.Topics))
		part := int32(s.e.rng.IntN(s.p.PartitionsPerTopic))
		shard, _ := c.partitionShard(topic, part)
		tp := fmt.Sprintf("%s/%d", topic, part)
		if s.e.rng.IntN(8) == 0 {
			op := s.rec.Invoke(c.id, s.e.now, &lin.ListOffsets{Topic: topic, Partition: part})
			c.send(c.route(shard), &request{kind: reqListOffsets, shard: shard}, func(r *response) {
				switch {
				case r == nil:
					_ = s.rec.Abandon(op, s.e.now, "timeout")
				case r.err != nil || r.list.Err != nil:
					_ = s.rec.Fail(op, s.e.now, "error")
				default:
					s.opsOK++
					_ = s.rec.Complete(op, s.e.now, &lin.ListOffsetsResult{Offset: r.list.Offset})
				}
				c.later(s.e.rng.Int64N(20))
			})
			return
		}
		off := pos[tp]
		if s.e.rng.IntN(6) == 0 {
			off = s.e.rng.Int64N(off + 1)
		}
		s.fetch(c, topic, part, shard, off, func(next int64) {
			if next > pos[tp] {
				pos[tp] = next
			}
			c.later(s.e.rng.Int64N(20))
		})
	})
	c.later(300 + s.e.rng.Int64N(200))
}

// fetch records one fetch of topic/part at off and calls done with the
// offset after the last record returned (off when none).
func (s *sim) fetch(c *client, topic string, part int32, shard uint64, off int64, done func(next int64)) {
	op := s.rec.Invoke(c.id, s.e.now, &lin.Fetch{Topic: topic, Partition: part, Offset: off})
	c.send(c.route(shard), &request{kind: reqFetch, shard: shard, offset: off, maxBytes: 1 << 20}, func(r *response) {
		next := off
		switch {
		case r == nil:
			_ = s.rec.Abandon(op, s.e.now, "timeout")
		case r.err != nil || r.fetch.Err != nil:
			_ = s.rec.Fail(op, s.e.now, "error")
		default:
			recs, err := decodeFetched(r.fetch.Records)
			if err != nil {
				s.fail("invariant:fetch-decodes", "fetch of %s/%d at %d: %v", topic, part, off, err)
				return
			}
			s.opsOK++
			for _, fr := range recs {
				next = max(next, fr.Offset+1)
			}
			_ = s.rec.Complete(op, s.e.now, &lin.FetchResult{Records: recs, HighWatermark: r.fetch.HighWatermark})
		}
		done(next)
	})
}

func decodeFetched(b []byte) ([]lin.FetchedRecord, error) {
	if len(b) == 0 {
		return nil, nil
	}
	batches, cerr := batch.Split(b)
	if cerr != nil {
		return nil, cerr
	}
	var out []lin.FetchedRecord
	for _, bb := range batches {
		h, ok := batch.ParseHeader(bb)
		if !ok {
			return nil, fmt.Errorf("bad batch header")
		}
		recs, cerr := batch.Records(bb)
		if cerr != nil {
			return nil, cerr
		}
		for i, r := range recs {
			out = append(out, lin.FetchedRecord{Offset: h.BaseOffset + int64(i), Key: string(r.Key), Value: string(r.Value)})
		}
	}
	return out, nil
}

// ---- final reads (liveness phase) ----

// startFinalReads reads every partition from offset 0 to its end through
// the normal request path (recorded in the history, so the checker's
// lost-write check covers every acknowledged value), then checks that
// every acknowledged produce is readable.
func (s *sim) startFinalReads() {
	c := s.newClient(func(c *client) {})
	seen := make(map[string]bool)
	type tp struct {
		topic string
		part  int32
	}
	var todo []tp
	for t := range s.p.Topics {
		for p := range s.p.PartitionsPerTopic {
			todo = append(todo, tp{topicName(t), int32(p)})
		}
	}
	var off int64
	var read func()
	read = func() {
		if len(todo) == 0 {
			s.checkAckedReadable(seen)
			s.inv.converged = true
			return
		}
		cur := todo[0]
		shard, ok := c.partitionShard(cur.topic, cur.part)
		if !ok {
			c.refresh(func() { s.e.after(retryBackoffMs, read) })
			return
		}
		op := s.rec.Invoke(c.id, s.e.now, &lin.Fetch{Topic: cur.topic, Partition: cur.part, Offset: off})
		c.send(c.route(shard), &request{kind: reqFetch, shard: shard, offset: off, maxBytes: 1 << 20}, func(r *response) {
			if r == nil || r.err != nil || r.fetch.Err != nil {
				if r == nil {
					_ = s.rec.Abandon(op, s.e.now, "timeout")
				} else {
					_ = s.rec.Fail(op, s.e.now, "error")
				}
				s.e.after(retryBackoffMs, read)
				return
			}
			recs, err := decodeFetched(r.fetch.Records)
			if err != nil {
				s.fail("invariant:fetch-decodes", "%v", err)
				return
			}
			_ = s.rec.Complete(op, s.e.now, &lin.FetchResult{Records: recs, HighWatermark: r.fetch.HighWatermark})
			for _, fr := range recs {
				seen[cur.topic+"/"+fr.Value] = true
				off = max(off, fr.Offset+1)
			}
			if off >= r.fetch.HighWatermark {
				todo, off = todo[1:], 0
			}
			read()
		})
	}
	c.refresh(read)
}

// checkAckedReadable: every acknowledged produce's values were read.
func (s *sim) checkAckedReadable(seen map[string]bool) {
	h := s.rec.History()
	for _, op := range h.Operations {
		in, ok := op.Input.(*lin.Produce)
		if !ok || op.Outcome != lin.OutcomeOK {
			continue
		}
		for _, r := range in.Records {
			if !seen[in.Topic+"/"+r.Value] {
				s.fail("liveness:acked-readable", "acknowledged value %s (op %d) not readable from %s/%d after healing",
					r.Value, op.ID, in.Topic, in.Partition)
				return
			}
		}
	}
}

// seedGroup commits offset 0 of t0/0 for the group outside group
// management (generation -1) before any member joins. A group with
// committed offsets is never deleted when it empties, so its generations
// only grow within a run; the group-ownership check keys owners by
// generation and would mistake a recreated group's generation 1 for the
// old one's.
func (s *sim) seedGroup(c *client, done func()) {
	if c.meta.groupShards == 0 {
		c.refresh(func() { s.e.after(retryBackoffMs, func() { s.seedGroup(c, done) }) })
		return
	}
	shard := uint64(c.meta.groupShardID[controller.GroupShardIndex(simGroup, c.meta.groupShards)])
	op := s.rec.Invoke(c.id, s.e.now, &lin.Commit{Group: simGroup, Topic: topicName(0), Partition: 0, Generation: -1, Offset: 0})
	cmd := group.CommitOffsets{Group: simGroup, Generation: -1,
		Offsets: []group.OffsetCommit{{Topic: topicName(0), Partition: 0, Offset: 0, LeaderEpoch: -1}}}
	c.send(c.route(shard), &request{kind: reqGroup, shard: shard, grp: cmd}, func(r *response) {
		res, _ := func() (group.CommitOffsetsResult, bool) {
			if r == nil || r.notLeader {
				return group.CommitOffsetsResult{}, false
			}
			x, ok := r.grp.(group.CommitOffsetsResult)
			return x, ok
		}()
		if len(res.Partitions) == 1 && res.Partitions[0].Err == nil {
			_ = s.rec.Complete(op, s.e.now, &lin.CommitResult{})
			done()
			return
		}
		if r == nil {
			_ = s.rec.Abandon(op, s.e.now, "timeout")
		} else {
			_ = s.rec.Fail(op, s.e.now, "not accepted")
		}
		s.e.after(retryBackoffMs, func() { s.seedGroup(c, done) })
	})
}
