package controller

import (
	"fmt"

	"github.com/tidemark/tidemark/core"
)

// violation names a broken invariant and what broke it.
type violation struct {
	name   string
	detail string
}

func violated(name, format string, args ...any) *violation {
	return &violation{name: name, detail: fmt.Sprintf(format, args...)}
}

// check verifies every invariant of the state and returns the first one
// broken, or nil. It never panics, whatever the state holds, because
// Restore runs it on states decoded from outside bytes. Apply runs it after
// every command when core.ExpensiveChecks is on.
//
// Invariants: shard ids unique, in [FirstAllocatedShardID, nextShardID);
// replica ids unique across all shards (initial and current), in
// [FirstReplicaID, nextReplicaID), a replacement larger than the id it
// replaced; a shard's replicas on distinct registered brokers, as many as
// its replication factor; each topic's partition list dense and its count
// summed in partitionCount; names legal and free of collisions; configs
// sorted, known, valid and canonical; derived per-broker counts exact.
func (c *Controller) check() *violation {
	if !c.bootstrapped {
		if c.clusterID != "" || c.boot.nowMs != 0 || c.boot.groupShardCount != 0 || c.boot.groupRF != 0 ||
			len(c.boot.brokers) != 0 || c.nextShardID != FirstAllocatedShardID || c.nextReplicaID != FirstReplicaID ||
			c.nextProducerID != 0 || len(c.brokers) != 0 || len(c.brokerIDs) != 0 || len(c.topics) != 0 ||
			len(c.shards) != 0 || len(c.groupShards) != 0 || c.partitionCount != 0 {
			return violated("empty before bootstrap", "state present in a cluster that is not bootstrapped")
		}
		return nil
	}
	if c.clusterID == "" {
		return violated("cluster id set", "empty cluster id")
	}
	if c.nextShardID < FirstAllocatedShardID || c.nextReplicaID < FirstReplicaID || c.nextProducerID < 0 {
		return violated("counters in range", "next shard %d, replica %d, producer %d",
			c.nextShardID, c.nextReplicaID, c.nextProducerID)
	}

	// Brokers.
	if len(c.brokerIDs) != len(c.brokers) || len(c.brokers) == 0 {
		return violated("broker index matches brokers", "%d ids, %d brokers", len(c.brokerIDs), len(c.brokers))
	}
	incarnations := make(map[uint64]int32, len(c.brokers))
	for i, id := range c.brokerIDs {
		b := c.brokers[id]
		if b == nil || b.info.ID != id || (i > 0 && id <= c.brokerIDs[i-1]) {
			return violated("broker index matches brokers", "broker %d at %d", id, i)
		}
		if err := validateBootstrapBroker(b.info); err != nil {
			return violated("brokers valid", "%s", err.Reason)
		}
		if other, dup := incarnations[b.info.Incarnation]; dup && b.info.Incarnation != 0 {
			return violated("incarnations unique", "brokers %d and %d share %d", other, id, b.info.Incarnation)
		}
		incarnations[b.info.Incarnation] = id
	}
	for i, b := range c.boot.brokers {
		if err := validateBootstrapBroker(b); err != nil || (i > 0 && b.ID <= c.boot.brokers[i-1].ID) || c.brokers[b.ID] == nil {
			return violated("bootstrap brokers valid", "bootstrap broker %d", b.ID)
		}
	}
	if len(c.boot.brokers) == 0 || c.boot.groupRF < 1 || int(c.boot.groupRF) > len(c.boot.brokers) {
		return violated("bootstrap record valid", "%d brokers, group rf %d", len(c.boot.brokers), c.boot.groupRF)
	}

	// Shards.
	if c.boot.groupShardCount < 1 || int(c.boot.groupShardCount) != len(c.groupShards) {
		return violated("group shard count fixed", "%d shards, bootstrap said %d", len(c.groupShards), c.boot.groupShardCount)
	}
	type owner struct {
		shard ShardID
		pos   int
	}
	replicaOwners := make(map[ReplicaID]owner, 2*len(c.shards))
	leaders := make(map[int32]int, len(c.brokers))
	replicas := make(map[int32]int, len(c.brokers))
	seen := 0
	checkShard := func(s *shard, rf int32) *violation {
		seen++
		if c.shards[s.id] != s {
			return violated("shard index matches shards", "shard %d missing from the index", s.id)
		}
		if s.id < FirstAllocatedShardID || s.id >= c.nextShardID {
			return violated("shard ids allocated", "shard %d outside [%d, %d)", s.id, FirstAllocatedShardID, c.nextShardID)
		}
		if len(s.replicas) != int(rf) || len(s.initial) != len(s.replicas) {
			return violated("replication factor kept", "shard %d: %d replicas, %d initial, rf %d",
				s.id, len(s.replicas), len(s.initial), rf)
		}
		for i, r := range s.replicas {
			if c.brokers[r.BrokerID] == nil {
				return violated("replicas on registered brokers", "shard %d: broker %d", s.id, r.BrokerID)
			}
			for _, q := range s.replicas[:i] {
				if q.BrokerID == r.BrokerID {
					return violated("replicas on distinct brokers", "shard %d: broker %d twice", s.id, r.BrokerID)
				}
			}
			in := s.initial[i]
			if in.BrokerID != r.BrokerID || r.ReplicaID < in.ReplicaID {
				return violated("replacements keep broker and grow id", "shard %d position %d: %+v initially %+v",
					s.id, i, r, in)
			}
			for _, id := range []ReplicaID{in.ReplicaID, r.ReplicaID} {
				if id < FirstReplicaID || id >= c.nextReplicaID {
					return violated("replica ids allocated", "shard %d: replica id %d outside [%d, %d)",
						s.id, id, FirstReplicaID, c.nextReplicaID)
				}
				if o, dup := replicaOwners[id]; dup && o != (owner{s.id, i}) {
					return violated("replica ids unique", "replica id %d in shard %d and shard %d", id, o.shard, s.id)
				}
				replicaOwners[id] = owner{s.id, i}
			}
			replicas[r.BrokerID]++
		}
		leaders[s.replicas[0].BrokerID]++
		return nil
	}
	for g, s := range c.groupShards {
		if s.kind != ShardGroup || s.group != int32(g) || s.id != FirstAllocatedShardID+ShardID(g) {
			return violated("group shards in slots", "group shard %d: id %d kind %s", g, s.id, s.kind)
		}
		if v := checkShard(s, c.boot.groupRF); v != nil {
			return v
		}
	}

	// Topics.
	if len(c.topicIDs) != len(c.topics) || len(c.collisions) != len(c.topics) {
		return violated("topic indexes match topics", "%d topics, %d ids, %d collision keys",
			len(c.topics), len(c.topicIDs), len(c.collisions))
	}
	partitions := 0
	for _, name := range c.TopicNames() { // sorted: the first violation found is deterministic
		t := c.topics[name]
		if t.name != name || c.topicIDs[t.id] != t || c.collisions[collisionKey(name)] != t {
			return violated("topic indexes match topics", "topic %s", shortName(name))
		}
		if err := ValidateTopicName(name); err != nil {
			return violated("topic names legal", "%s", err.Reason)
		}
		if t.id == (TopicID{}) {
			return violated("topic ids nonzero", "topic %s", shortName(name))
		}
		if t.rf < 1 || int(t.rf) > len(c.brokers) || len(t.partitions) == 0 {
			return violated("topic shape valid", "topic %s: rf %d, %d partitions", shortName(name), t.rf, len(t.partitions))
		}
		for i, e := range t.configs {
			v, err := ValidateTopicConfig(e.Key, e.Value)
			if err != nil || v != e.Value || (i > 0 && e.Key <= t.configs[i-1].Key) {
				return violated("topic configs sorted and canonical", "topic %s: %s=%q", shortName(name), e.Key, e.Value)
			}
		}
		for p, s := range t.partitions {
			if s.kind != ShardPartition || s.topic != t || s.partition != int32(p) ||
				(p > 0 && s.id <= t.partitions[p-1].id) {
				return violated("partition list dense", "topic %s partition %d: shard %d", shortName(name), p, s.id)
			}
			if v := checkShard(s, t.rf); v != nil {
				return v
			}
		}
		partitions += len(t.partitions)
	}
	if partitions != c.partitionCount {
		return violated("partition count matches partition lists", "%d counted, %d recorded", partitions, c.partitionCount)
	}
	if seen != len(c.shards) {
		return violated("shard index matches shards", "%d shards reachable, %d indexed", seen, len(c.shards))
	}
	for _, id := range c.brokerIDs {
		b := c.brokers[id]
		if b.leaders != leaders[id] || b.replicas != replicas[id] {
			return violated("broker counts exact", "broker %d: leaders %d/%d, replicas %d/%d",
				id, b.leaders, leaders[id], b.replicas, replicas[id])
		}
	}
	return nil
}

// assertShardReplicas is the cheap per-transition check on a shard just
// created: replicas on distinct registered brokers.
func assertShardReplicas(c *Controller, s *shard) {
	for i, r := range s.replicas {
		core.Assert(c.brokers[r.BrokerID] != nil, "replicas on registered brokers", "shard %d: broker %d", s.id, r.BrokerID)
		for _, q := range s.replicas[:i] {
			core.Assert(q.BrokerID != r.BrokerID, "replicas on distinct brokers", "shard %d: broker %d twice", s.id, r.BrokerID)
		}
	}
}
