package raftsm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	gonet "net"
	"sort"
	"strconv"
	"time"

	"github.com/lni/dragonboat/v4"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
	kafkanet "github.com/tidemark/tidemark/net"
)

// KafkaSettings are the broker settings the Kafka handlers need.
type KafkaSettings struct {
	DefaultPartitions        int32 // Kafka's num.partitions
	DefaultReplicationFactor int32 // Kafka's default.replication.factor
	AutoCreateTopics         bool  // Kafka's auto.create.topics.enable
}

// KafkaCluster is the Kafka listener's view of a Node: it implements
// net.Cluster. It holds no state besides the node and the settings.
type KafkaCluster struct {
	node     *Node
	settings KafkaSettings
}

var _ kafkanet.Cluster = (*KafkaCluster)(nil)

// NewKafkaCluster returns the Kafka listener's view of n.
func NewKafkaCluster(n *Node, s KafkaSettings) *KafkaCluster {
	return &KafkaCluster{node: n, settings: s}
}

// AutoCreateTopics implements net.Cluster.
func (k *KafkaCluster) AutoCreateTopics() bool { return k.settings.AutoCreateTopics }

// Metadata implements net.Cluster with a local read of the controller
// state (it may lag the controller's leader).
//
// Partition leaders come from dragonboat for shards with a local replica
// (-1 while none is known). For a shard without a local replica this
// broker cannot ask Raft, and the preferred leader (Replicas[0]) is
// reported instead; the leader-placement loop moves leadership there, and a
// client sent to the wrong broker gets NOT_LEADER_OR_FOLLOWER and retries.
// With the replication factor equal to the cluster size (the default up to
// three brokers) every broker has every shard and the answer is exact.
//
// The controller reported is the broker hosting the controller shard's
// current leader replica, or this broker when that leader is unknown or
// not registered: clients need a live broker there, never -1.
func (k *KafkaCluster) Metadata() (kafkanet.ClusterMetadata, error) {
	n := k.node
	var (
		md     kafkanet.ClusterMetadata
		topics []controller.TopicInfo
	)
	var brokers []controller.BrokerState
	err := n.ReadController(func(c *controller.Controller) {
		md.ClusterID = c.ClusterID()
		brokers = c.Brokers()
		topics = c.Topics()
	})
	if err != nil {
		return md, fmt.Errorf("read the controller state: %w", err)
	}
	self := false
	for _, b := range brokers {
		if b.Info.KafkaAddr == "" {
			continue // listed by Bootstrap, not registered yet: no address to give clients
		}
		bm, err := brokerMetadata(b.Info.ID, b.Info.KafkaAddr, b.Info.Rack)
		if err != nil {
			continue
		}
		self = self || b.Info.ID == n.cfg.NodeID
		md.Brokers = append(md.Brokers, bm)
	}
	if !self { // not registered yet, but clients are talking to it
		if bm, err := brokerMetadata(n.cfg.NodeID, n.cfg.KafkaAddr, n.cfg.Rack); err == nil {
			md.Brokers = append(md.Brokers, bm)
			sort.Slice(md.Brokers, func(i, j int) bool { return md.Brokers[i].ID < md.Brokers[j].ID })
		}
	}
	md.ControllerID = n.cfg.NodeID
	if id := n.ControllerLeader(); id >= 0 {
		for _, b := range md.Brokers {
			if b.ID == id {
				md.ControllerID = id
			}
		}
	}
	n.mu.Lock()
	local := make(map[uint64]bool, len(n.replicas))
	for id := range n.replicas {
		local[id] = true
	}
	n.mu.Unlock()
	isr, nowMs := n.isr, time.Now().UnixMilli()
	for _, t := range topics {
		tm := kafkanet.TopicMetadata{Name: t.Name, ID: t.ID, Partitions: make([]kafkanet.PartitionMetadata, len(t.Partitions))}
		for i, p := range t.Partitions {
			pm := kafkanet.PartitionMetadata{Index: p.Index, Leader: -1, LeaderEpoch: -1}
			for _, r := range p.Replicas {
				pm.Replicas = append(pm.Replicas, r.BrokerID)
			}
			if local[uint64(p.Shard)] {
				leader, term, ok, err := n.nh.GetLeaderID(uint64(p.Shard))
				if err == nil && ok {
					for _, r := range p.Replicas {
						if uint64(r.ReplicaID) == leader {
							pm.Leader, pm.LeaderEpoch = r.BrokerID, leaderEpoch(term)
						}
					}
				}
			} else if len(p.Replicas) > 0 && !hasReplicaOn(p.Replicas, n.cfg.NodeID) {
				pm.Leader = p.Replicas[0].BrokerID // a guess: no epoch to go with it
			}
			// A replica assigned here but not started yet reports -1: the
			// preferred leader would be a guess about this very broker, and
			// a client sent here would get NOT_LEADER_OR_FOLLOWER and wait
			// out its metadata backoff (5 s in franz-go), where -1 makes it
			// ask again soon.

			pm.ISR = inSyncReplicas(isr, p, pm.Leader, nowMs)
			tm.Partitions[i] = pm
		}
		md.Topics = append(md.Topics, tm)
	}
	return md, nil
}

// inSyncReplicas lists, in assignment order, the replicas of p that the
// tracker saw in sync (isr.go), the leader always among them; all of them
// while the tracker has not observed the shard yet.
func inSyncReplicas(t *isrTracker, p controller.PartitionInfo, leader int32, nowMs int64) []int32 {
	out := make([]int32, 0, len(p.Replicas))
	for _, r := range p.Replicas {
		in, known := t.inSync(uint64(p.Shard), uint64(r.ReplicaID), nowMs)
		if !known || in || r.BrokerID == leader {
			out = append(out, r.BrokerID)
		}
	}
	return out
}

// leaderEpoch is a Raft term as a Kafka leader epoch: -1 when it does not
// fit (2^31 elections would take decades).
func leaderEpoch(term uint64) int32 {
	if term > math.MaxInt32 {
		return -1
	}
	return int32(term)
}

func hasReplicaOn(rs []controller.Replica, broker int32) bool {
	for _, r := range rs {
		if r.BrokerID == broker {
			return true
		}
	}
	return false
}

func brokerMetadata(id int32, addr, rack string) (kafkanet.BrokerMetadata, error) {
	host, port, err := gonet.SplitHostPort(addr)
	if err != nil {
		return kafkanet.BrokerMetadata{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return kafkanet.BrokerMetadata{}, fmt.Errorf("port of %s: %w", addr, err)
	}
	return kafkanet.BrokerMetadata{ID: id, Host: host, Port: int32(p), Rack: rack}, nil
}

// CreateTopic implements net.Cluster: it resolves the defaults, draws the
// topic id, and proposes CreateTopic to the controller.
func (k *KafkaCluster) CreateTopic(ctx context.Context, spec kafkanet.TopicSpec) (kafkanet.CreatedTopic, error) {
	if spec.Partitions == -1 {
		spec.Partitions = k.settings.DefaultPartitions
	}
	if spec.ReplicationFactor == -1 {
		spec.ReplicationFactor = k.settings.DefaultReplicationFactor
	}
	var id controller.TopicID
	for id == (controller.TopicID{}) {
		if _, err := rand.Read(id[:]); err != nil {
			return kafkanet.CreatedTopic{}, fmt.Errorf("draw a topic id: %w", err)
		}
	}
	res, err := k.node.ProposeController(ctx, controller.CreateTopic{
		Name: spec.Name, TopicID: id, Partitions: spec.Partitions, ReplicationFactor: spec.ReplicationFactor,
		Configs: spec.Configs, ValidateOnly: spec.ValidateOnly, NowMs: time.Now().UnixMilli(),
	})
	if err != nil {
		return kafkanet.CreatedTopic{}, err
	}
	r, ok := res.(controller.CreateTopicResult)
	if !ok {
		if e := controller.ResultErr(res); e != nil {
			return kafkanet.CreatedTopic{}, e
		}
		return kafkanet.CreatedTopic{}, fmt.Errorf("controller answered CreateTopic with %T", res)
	}
	if r.Err != nil {
		return kafkanet.CreatedTopic{}, r.Err
	}
	return kafkanet.CreatedTopic{ID: r.TopicID, Partitions: r.Partitions, ReplicationFactor: r.ReplicationFactor}, nil
}

// AllocateProducerID implements net.Cluster: it proposes
// AllocateProducerIDs{Count: 1} to the controller and returns the id.
// One controller proposal per InitProducerId is fine at today's rates;
// reserving blocks per broker and handing ids out locally is a later
// optimisation.
func (k *KafkaCluster) AllocateProducerID(ctx context.Context) (int64, error) {
	res, err := k.node.ProposeController(ctx, controller.AllocateProducerIDs{Count: 1})
	if err != nil {
		return 0, err
	}
	r, ok := res.(controller.AllocateProducerIDsResult)
	if !ok {
		if e := controller.ResultErr(res); e != nil {
			return 0, e
		}
		return 0, fmt.Errorf("controller answered AllocateProducerIDs with %T", res)
	}
	if r.Err != nil {
		return 0, r.Err
	}
	if r.Count < 1 {
		return 0, fmt.Errorf("controller allocated %d producer ids, want 1", r.Count)
	}
	return r.FirstProducerID, nil
}

// partitionShard looks up a partition's shard and its topic's log settings
// in the local controller state.
func (k *KafkaCluster) partitionShard(topic string, index int32) (uint64, controller.LogSettings, error) {
	var (
		shard    uint64
		settings controller.LogSettings
		found    bool
	)
	err := k.node.ReadController(func(c *controller.Controller) {
		t, ok := c.Topic(topic)
		if !ok || index < 0 || int(index) >= len(t.Partitions) {
			return
		}
		shard, settings, found = uint64(t.Partitions[index].Shard), controller.LogSettingsOf(t.Configs), true
	})
	if err != nil {
		return 0, settings, fmt.Errorf("read the controller state: %w", err)
	}
	if !found {
		return 0, settings, core.Errorf(core.UnknownTopicOrPartition, "no partition %d of topic %q", index, topic)
	}
	return shard, settings, nil
}

// notLeader turns the node's "not the leader" answers into
// NOT_LEADER_OR_FOLLOWER; other errors pass through.
func notLeader(err error, topic string, index int32) error {
	var nl *NotLeaderError
	if errors.As(err, &nl) || errors.Is(err, ErrNoReplica) {
		return core.Errorf(core.NotLeaderOrFollower, "partition %d of topic %q: %v", index, topic, err)
	}
	return err
}

// Produce implements net.Cluster: SubmitProduce, then its wait.
func (k *KafkaCluster) Produce(ctx context.Context, topic string, index int32, b []byte) (partition.ProduceResult, error) {
	wait, err := k.SubmitProduce(ctx, topic, index, b)
	if err != nil {
		return partition.ProduceResult{}, err
	}
	return wait(ctx)
}

var _ kafkanet.ProduceSubmitter = (*KafkaCluster)(nil)

// SubmitProduce implements net.ProduceSubmitter: it proposes
// partition.Produce, stamped with this broker's clock, the topic's
// max.message.bytes and the leader epoch (the Raft term this broker
// leads in, stored as the batch's PartitionLeaderEpoch), and returns
// without waiting. dragonboat queues the proposals of one
// shard in call order, so batches submitted one after another from one
// goroutine reach the log in that order; wait returns once the entry is
// committed by a quorum (each member fsynced its Raft log) and applied
// here.
func (k *KafkaCluster) SubmitProduce(ctx context.Context, topic string, index int32, b []byte) (func(context.Context) (partition.ProduceResult, error), error) {
	shard, settings, err := k.partitionShard(topic, index)
	if err != nil {
		return nil, err
	}
	if err := k.node.mustLead(shard); err != nil {
		return nil, notLeader(err, topic, index)
	}
	nh := k.node.nh
	// The term read after mustLead is at least the one this broker leads
	// in, and at most the term of the leader that appends the entry: a
	// proposal caught by an election is forwarded to the newer leader or
	// dropped, never appended by an older one. So a stored epoch never
	// exceeds the Raft term of its entry; but a forwarded batch can land
	// after batches stamped with the newer term, so epochs along the log
	// are not strictly non-decreasing (nothing reads them that way yet:
	// OffsetForLeaderEpoch is not served; docs/compatibility.md).
	_, term, ok, err := nh.GetLeaderID(shard)
	if err != nil || !ok {
		return nil, notLeader(&NotLeaderError{ShardID: shard, LeaderBroker: -1}, topic, index)
	}
	timeout := time.Until(deadlineOr(ctx, 30*time.Second))
	rs, err := nh.Propose(nh.GetNoOPSession(shard), partition.EncodeCommand(partition.Produce{
		NowMs: time.Now().UnixMilli(), LeaderEpoch: max(leaderEpoch(term), 0), MaxMessageBytes: settings.MaxMessageBytes, Records: b}), timeout)
	if err != nil {
		return nil, notLeader(fmt.Errorf("propose to shard %d: %w", shard, err), topic, index)
	}
	return func(ctx context.Context) (partition.ProduceResult, error) {
		var r dragonboat.RequestResult
		select {
		case r = <-rs.AppliedC():
		case <-ctx.Done():
			return partition.ProduceResult{}, fmt.Errorf("propose to shard %d: %w", shard, ctx.Err())
		}
		rs.Release()
		if !r.Completed() {
			return partition.ProduceResult{}, fmt.Errorf("propose to shard %d: not completed (rejected %t, timeout %t, terminated %t, dropped %t, aborted %t)",
				shard, r.Rejected(), r.Timeout(), r.Terminated(), r.Dropped(), r.Aborted())
		}
		out, err := resultData(r.GetResult())
		if err != nil {
			return partition.ProduceResult{}, err
		}
		res, err := partition.DecodeResult(out)
		if err != nil {
			return partition.ProduceResult{}, err
		}
		pr, ok := res.(partition.ProduceResult)
		if !ok {
			return partition.ProduceResult{}, fmt.Errorf("partition answered Produce with %T", res)
		}
		return pr, nil
	}, nil
}

// deadlineOr is ctx's deadline, or now+d without one.
func deadlineOr(ctx context.Context, d time.Duration) time.Time {
	if t, ok := ctx.Deadline(); ok {
		return t
	}
	return time.Now().Add(d)
}

// readLeader runs f on the partition's applied log if this broker leads it.
func (k *KafkaCluster) readLeader(topic string, index int32, f func(*partition.Log)) (<-chan struct{}, error) {
	shard, _, err := k.partitionShard(topic, index)
	if err != nil {
		return nil, err
	}
	if err := k.node.mustLead(shard); err != nil {
		return nil, notLeader(err, topic, index)
	}
	ch, err := k.node.ReadPartition(shard, f)
	if err != nil {
		return nil, notLeader(err, topic, index)
	}
	return ch, nil
}

// Fetch implements net.Cluster: a read of the leader's applied log.
func (k *KafkaCluster) Fetch(topic string, index int32, offset int64, maxBytes int32, buf []byte) (partition.FetchResult, <-chan struct{}, error) {
	var res partition.FetchResult
	ch, err := k.readLeader(topic, index, func(l *partition.Log) { res = l.FetchInto(offset, maxBytes, buf) })
	if err != nil {
		return partition.FetchResult{}, nil, err
	}
	return res, ch, nil
}

// ListOffsets implements net.Cluster: a read of the leader's applied log.
func (k *KafkaCluster) ListOffsets(topic string, index int32, timestampMs int64) (partition.ListOffsetsResult, error) {
	var res partition.ListOffsetsResult
	if _, err := k.readLeader(topic, index, func(l *partition.Log) { res = l.ListOffsets(timestampMs) }); err != nil {
		return partition.ListOffsetsResult{}, err
	}
	return res, nil
}
