package controller

import (
	"fmt"
	"hash/fnv"

	"github.com/tidemark/tidemark/core/codec"
)

// Snapshot encodes the whole state. The bytes are deterministic (brokers
// by id, topics by name, configs by key, shards in their slots) and
// canonical: Restore accepts only bytes that Snapshot would write back
// unchanged. Derived data (per-broker counts, lookup maps) is not stored.
//
// Layout (version 1): version byte; bootstrapped flag; cluster id; the
// accepted Bootstrap (NowMs, group shard count, group replication factor,
// brokers); next shard, replica and producer ids; brokers (info,
// registeredMs); group shards (id, replicas, initial replicas); topics
// (name, id, replication factor, createdMs, configs, partitions as shards).
func (c *Controller) Snapshot() []byte {
	w := codec.NewWriter(256 + 64*len(c.shards))
	w.Uint8(encodingVersion)
	w.Bool(c.bootstrapped)
	w.String(c.clusterID)
	w.Int64(c.boot.nowMs)
	w.Int32(c.boot.groupShardCount)
	w.Int32(c.boot.groupRF)
	w.Count(len(c.boot.brokers))
	for _, b := range c.boot.brokers {
		writeBrokerInfo(w, b)
	}
	w.Uint64(uint64(c.nextShardID))
	w.Uint64(uint64(c.nextReplicaID))
	w.Int64(c.nextProducerID)
	w.Count(len(c.brokerIDs))
	for _, id := range c.brokerIDs {
		b := c.brokers[id]
		writeBrokerInfo(w, b.info)
		w.Int64(b.registeredMs)
	}
	w.Count(len(c.groupShards))
	for _, s := range c.groupShards {
		writeShard(w, s)
	}
	names := c.TopicNames()
	w.Count(len(names))
	for _, n := range names {
		t := c.topics[n]
		w.String(t.name)
		writeTopicID(w, t.id)
		w.Int32(t.rf)
		w.Int64(t.createdMs)
		writeConfigEntries(w, t.configs)
		w.Count(len(t.partitions))
		for _, s := range t.partitions {
			writeShard(w, s)
		}
	}
	return w.Bytes()
}

// StateHash is FNV-1a (64-bit) of Snapshot: replicas that applied the same
// log agree on it.
func (c *Controller) StateHash() uint64 {
	h := fnv.New64a()
	h.Write(c.Snapshot())
	return h.Sum64()
}

func writeShard(w *codec.Writer, s *shard) {
	w.Uint64(uint64(s.id))
	writeReplicas(w, s.replicas)
	writeReplicas(w, s.initial)
}

func writeReplicas(w *codec.Writer, rs []Replica) {
	w.Count(len(rs))
	for _, r := range rs {
		w.Int32(r.BrokerID)
		w.Uint64(uint64(r.ReplicaID))
	}
}

func readReplicas(r *codec.Reader) []Replica {
	n := r.Count(maxDecodeReplicas, 12)
	if n == 0 {
		return nil
	}
	rs := make([]Replica, n)
	for i := range rs {
		rs[i] = Replica{BrokerID: r.Int32(), ReplicaID: ReplicaID(r.Uint64())}
	}
	return rs
}

func readShard(r *codec.Reader, kind ShardKind) *shard {
	return &shard{id: ShardID(r.Uint64()), kind: kind, replicas: readReplicas(r), initial: readReplicas(r)}
}

// Restore rebuilds a controller from Snapshot's bytes. It never panics:
// bytes that do not decode, are not canonical, or describe a state that
// breaks an invariant are an error. cfg's bounds apply to later commands;
// a snapshot over them (taken under a larger config) is still accepted.
func Restore(cfg Config, b []byte) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := New(cfg)
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != encodingVersion {
		return nil, fmt.Errorf("controller snapshot: unknown encoding version %d", v)
	}
	c.bootstrapped = r.Bool()
	c.clusterID = r.String(maxDecodeStringBytes)
	c.boot.nowMs = r.Int64()
	c.boot.groupShardCount = r.Int32()
	c.boot.groupRF = r.Int32()
	if n := r.Count(maxDecodeBrokers, brokerInfoMinBytes); n > 0 {
		c.boot.brokers = make([]BrokerInfo, n)
		for i := range c.boot.brokers {
			c.boot.brokers[i] = readBrokerInfo(r)
		}
	}
	c.nextShardID = ShardID(r.Uint64())
	c.nextReplicaID = ReplicaID(r.Uint64())
	c.nextProducerID = r.Int64()

	n := r.Count(maxDecodeBrokers, brokerInfoMinBytes+8)
	for i := 0; i < n && r.Err() == nil; i++ {
		b := &broker{info: readBrokerInfo(r), registeredMs: r.Int64()}
		if i > 0 && b.info.ID <= c.brokerIDs[i-1] {
			return nil, fmt.Errorf("controller snapshot: brokers not sorted by id at %d", b.info.ID)
		}
		c.brokers[b.info.ID] = b
		c.brokerIDs = append(c.brokerIDs, b.info.ID)
	}

	n = r.Count(maxDecodeGroupShards, 8+4+4)
	for g := 0; g < n && r.Err() == nil; g++ {
		s := readShard(r, ShardGroup)
		s.group = int32(g)
		if _, dup := c.shards[s.id]; dup {
			return nil, fmt.Errorf("controller snapshot: shard %d appears twice", s.id)
		}
		c.shards[s.id] = s
		c.groupShards = append(c.groupShards, s)
	}

	n = r.Count(maxDecodeTopics, 4+16+4+8+4+4)
	prev := ""
	for i := 0; i < n && r.Err() == nil; i++ {
		t := &topic{name: r.String(maxDecodeStringBytes), id: readTopicID(r), rf: r.Int32(), createdMs: r.Int64(),
			configs: readConfigEntries(r)}
		if i > 0 && t.name <= prev {
			return nil, fmt.Errorf("controller snapshot: topics not sorted by name at %q", shortName(t.name))
		}
		prev = t.name
		np := r.Count(maxDecodePartitions, 8+4+4)
		for p := 0; p < np && r.Err() == nil; p++ {
			s := readShard(r, ShardPartition)
			s.topic, s.partition = t, int32(p)
			if _, dup := c.shards[s.id]; dup {
				return nil, fmt.Errorf("controller snapshot: shard %d appears twice", s.id)
			}
			c.shards[s.id] = s
			t.partitions = append(t.partitions, s)
		}
		if _, dup := c.topicIDs[t.id]; dup {
			return nil, fmt.Errorf("controller snapshot: topic id %x appears twice", t.id[:])
		}
		c.topics[t.name] = t
		c.topicIDs[t.id] = t
		c.collisions[collisionKey(t.name)] = t
		c.partitionCount += len(t.partitions)
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("controller snapshot: %w", err)
	}
	// Derive the per-broker counts; check() below rejects replicas on
	// unknown brokers, so skipping them here only avoids a nil dereference.
	for _, s := range c.shards {
		for i, rep := range s.replicas {
			if b := c.brokers[rep.BrokerID]; b != nil {
				b.replicas++
				if i == 0 {
					b.leaders++
				}
			}
		}
	}
	if v := c.check(); v != nil {
		return nil, fmt.Errorf("controller snapshot: %s: %s", v.name, v.detail)
	}
	return c, nil
}
