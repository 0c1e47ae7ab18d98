package controller

import (
	"hash/fnv"
	"maps"
	"slices"
	"sort"
)

// Queries. Each returns copies: nothing a caller holds aliases the state.

// Bootstrapped reports whether Bootstrap has been applied.
func (c *Controller) Bootstrapped() bool { return c.bootstrapped }

// ClusterID returns the cluster id, "" before Bootstrap.
func (c *Controller) ClusterID() string { return c.clusterID }

// Config returns the bounds the controller enforces.
func (c *Controller) Config() Config { return c.cfg }

// Brokers returns the registered brokers sorted by id.
func (c *Controller) Brokers() []BrokerState {
	out := make([]BrokerState, 0, len(c.brokerIDs))
	for _, id := range c.brokerIDs {
		b := c.brokers[id]
		out = append(out, BrokerState{Info: b.info, RegisteredMs: b.registeredMs})
	}
	return out
}

// Broker returns one registered broker.
func (c *Controller) Broker(id int32) (BrokerState, bool) {
	b, ok := c.brokers[id]
	if !ok {
		return BrokerState{}, false
	}
	return BrokerState{Info: b.info, RegisteredMs: b.registeredMs}, true
}

// Topic returns the topic named name.
func (c *Controller) Topic(name string) (TopicInfo, bool) {
	t, ok := c.topics[name]
	if !ok {
		return TopicInfo{}, false
	}
	return t.info(), true
}

// TopicByID returns the topic whose id is id.
func (c *Controller) TopicByID(id TopicID) (TopicInfo, bool) {
	t, ok := c.topicIDs[id]
	if !ok {
		return TopicInfo{}, false
	}
	return t.info(), true
}

// Topics returns every live topic sorted by name.
func (c *Controller) Topics() []TopicInfo {
	names := c.TopicNames()
	out := make([]TopicInfo, 0, len(names))
	for _, n := range names {
		out = append(out, c.topics[n].info())
	}
	return out
}

// TopicNames returns the live topics' names, sorted.
func (c *Controller) TopicNames() []string {
	return slices.Sorted(maps.Keys(c.topics))
}

// Partition returns partition index of topic name.
func (c *Controller) Partition(name string, index int32) (PartitionInfo, bool) {
	t, ok := c.topics[name]
	if !ok || index < 0 || int(index) >= len(t.partitions) {
		return PartitionInfo{}, false
	}
	return t.partitions[index].partitionInfo(), true
}

// PartitionCount returns the number of partitions of all live topics.
func (c *Controller) PartitionCount() int { return c.partitionCount }

// Shard returns one live shard (group or partition).
func (c *Controller) Shard(id ShardID) (ShardInfo, bool) {
	s, ok := c.shards[id]
	if !ok {
		return ShardInfo{}, false
	}
	return s.shardInfo(), true
}

// Shards returns every live group and partition shard, sorted by id: the
// desired state each broker's reconciler makes its local replicas match.
// The controller shard is not included (its membership is the runtime's).
func (c *Controller) Shards() []ShardInfo {
	out := make([]ShardInfo, 0, len(c.shards))
	for _, s := range c.shards {
		out = append(out, s.shardInfo())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// GroupShards returns the group shards' ids by group-shard index; empty
// before Bootstrap.
func (c *Controller) GroupShards() []ShardID {
	out := make([]ShardID, len(c.groupShards))
	for i, s := range c.groupShards {
		out[i] = s.id
	}
	return out
}

// GroupShardFor returns the shard coordinating consumer group groupID:
// FNV-1a (32-bit) of the group id modulo the group-shard count. The map is
// stable for the cluster's life because the count is fixed at Bootstrap;
// changing the count would move groups (and their committed offsets) to
// other shards. Returns 0 (no shard) before Bootstrap.
func (c *Controller) GroupShardFor(groupID string) ShardID {
	if len(c.groupShards) == 0 {
		return 0
	}
	return c.groupShards[GroupShardIndex(groupID, int32(len(c.groupShards)))].id
}

// GroupShardIndex is the group-shard index of groupID among count shards.
func GroupShardIndex(groupID string, count int32) int32 {
	h := fnv.New32a()
	h.Write([]byte(groupID))
	return int32(h.Sum32() % uint32(count))
}

// NextProducerID is where the next producer-id block starts.
func (c *Controller) NextProducerID() int64 { return c.nextProducerID }

// PreferredLeaderCounts returns, per registered broker id, how many live
// shards (group and partition) have it as preferred leader, and how many
// replicas it hosts. For balance reporting and tests.
func (c *Controller) PreferredLeaderCounts() (leaders, replicas map[int32]int) {
	leaders, replicas = make(map[int32]int, len(c.brokers)), make(map[int32]int, len(c.brokers))
	for id, b := range c.brokers {
		leaders[id], replicas[id] = b.leaders, b.replicas
	}
	return leaders, replicas
}

func (t *topic) info() TopicInfo {
	ti := TopicInfo{
		Name:              t.name,
		ID:                t.id,
		ReplicationFactor: t.rf,
		CreatedMs:         t.createdMs,
		Configs:           append([]ConfigEntry(nil), t.configs...),
		Partitions:        make([]PartitionInfo, len(t.partitions)),
	}
	for i, s := range t.partitions {
		ti.Partitions[i] = s.partitionInfo()
	}
	return ti
}

func (s *shard) partitionInfo() PartitionInfo {
	return PartitionInfo{Index: s.partition, Shard: s.id, Replicas: append([]Replica(nil), s.replicas...)}
}

func (s *shard) shardInfo() ShardInfo {
	si := ShardInfo{
		ID:              s.id,
		Kind:            s.kind,
		Replicas:        append([]Replica(nil), s.replicas...),
		InitialReplicas: append([]Replica(nil), s.initial...),
	}
	switch s.kind {
	case ShardGroup:
		si.Group = s.group
	case ShardPartition:
		si.Topic, si.TopicID, si.Partition = s.topic.name, s.topic.id, s.partition
	default:
		panic("controller: shard of unknown kind")
	}
	return si
}
