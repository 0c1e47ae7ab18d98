package controller

import (
	"strings"
	"testing"
)

func populated(t tb) *Controller {
	c := newBootstrapped(t, DefaultConfig(), testBrokers(3), 2, 2)
	mustOK(t, c.Apply(CreateTopic{Name: "a", TopicID: topicID(1), Partitions: 3, ReplicationFactor: 2,
		Configs: []ConfigEntry{{ConfigRetentionMs, "5"}}}))
	mustOK(t, c.Apply(CreateTopic{Name: "b", TopicID: topicID(2), Partitions: 1, ReplicationFactor: 3}))
	return c
}

func TestQueriesReturnCopies(t *testing.T) {
	c := populated(t)
	h := c.StateHash()
	ts := c.Topics()
	ts[0].Configs[0].Value = "x"
	ts[0].Partitions[0].Replicas[0].BrokerID = 99
	ti, _ := c.Topic("a")
	ti.Partitions[1].Replicas[0].ReplicaID = 999
	ss := c.Shards()
	ss[0].Replicas[0].ReplicaID = 999
	ss[0].InitialReplicas[0].ReplicaID = 999
	s, _ := c.Shard(ss[4].ID)
	s.Replicas[0].BrokerID = 42
	p, _ := c.Partition("a", 2)
	p.Replicas[1].BrokerID = 42
	c.GroupShards()[0] = 0
	if c.StateHash() != h {
		t.Fatal("mutating a query's result changed the state")
	}
	if _, ok := c.Partition("a", 3); ok {
		t.Fatal("partition 3 of a 3-partition topic")
	}
	if _, ok := c.Partition("a", -1); ok {
		t.Fatal("partition -1")
	}
	if s, ok := c.Shard(p.Shard); !ok || s.Kind != ShardPartition || s.Topic != "a" || s.Partition != 2 || s.TopicID != topicID(1) {
		t.Fatalf("shard of a/2: %+v", s)
	}
	if c.PartitionCount() != 4 || len(c.Brokers()) != 3 || c.Brokers()[2].Info.ID != 2 {
		t.Fatal("counts")
	}
}

func TestDeleteAndRecreateGetsNewIdentity(t *testing.T) {
	c := populated(t)
	old, _ := c.Topic("a")
	mustOK(t, c.Apply(DeleteTopic{TopicID: topicID(1)}))
	if _, ok := c.Topic("a"); ok {
		t.Fatal("deleted topic still there")
	}
	mustOK(t, c.Apply(CreateTopic{Name: "a", TopicID: topicID(3), Partitions: 3, ReplicationFactor: 2}))
	now, _ := c.Topic("a")
	for i := range now.Partitions {
		if now.Partitions[i].Shard <= old.Partitions[2].Shard {
			t.Fatalf("recreated partition %d on shard %d, old shards up to %d", i, now.Partitions[i].Shard, old.Partitions[2].Shard)
		}
	}
	if len(now.Configs) != 0 {
		t.Fatalf("recreated topic inherited configs %v", now.Configs)
	}
}

// TestCheckCatchesCorruption breaks one invariant at a time behind the
// state machine's back and checks that check() names it, and that Restore
// refuses a snapshot of the broken state.
func TestCheckCatchesCorruption(t *testing.T) {
	cases := []struct {
		invariant string
		corrupt   func(c *Controller)
	}{
		{"replicas on distinct brokers", func(c *Controller) {
			s := c.topics["b"].partitions[0]
			s.replicas[1].BrokerID = s.replicas[0].BrokerID
			s.initial[1].BrokerID = s.initial[0].BrokerID
		}},
		{"replicas on registered brokers", func(c *Controller) {
			s := c.topics["a"].partitions[0]
			s.replicas[1].BrokerID, s.initial[1].BrokerID = 9, 9
		}},
		{"replica ids unique", func(c *Controller) {
			a, b := c.topics["a"].partitions[0], c.topics["a"].partitions[1]
			b.replicas[0].ReplicaID = a.replicas[0].ReplicaID
			b.initial[0].ReplicaID = a.replicas[0].ReplicaID
		}},
		{"replica ids allocated", func(c *Controller) { c.nextReplicaID-- }},
		{"shard ids allocated", func(c *Controller) { c.nextShardID-- }},
		{"replacements keep broker and grow id", func(c *Controller) { c.topics["a"].partitions[0].replicas[0].ReplicaID-- }},
		{"replication factor kept", func(c *Controller) { c.topics["a"].rf = 3 }},
		{"topic configs sorted and canonical", func(c *Controller) { c.topics["a"].configs[0].Value = "05" }},
		{"incarnations unique", func(c *Controller) { c.brokers[1].info.Incarnation = c.brokers[0].info.Incarnation }},
		{"counters in range", func(c *Controller) { c.nextProducerID = -1 }},
	}
	for _, tc := range cases {
		t.Run(tc.invariant, func(t *testing.T) {
			c := populated(t)
			tc.corrupt(c)
			v := c.check()
			if v == nil || v.name != tc.invariant {
				t.Fatalf("check() = %v, want %q", v, tc.invariant)
			}
			_, err := Restore(DefaultConfig(), c.Snapshot())
			if err == nil || !strings.Contains(err.Error(), tc.invariant) {
				t.Fatalf("Restore: %v", err)
			}
		})
	}
	// Derived data is not in the snapshot: check() catches it drifting,
	// and Restore derives it afresh.
	for _, tc := range []struct {
		invariant string
		corrupt   func(c *Controller)
	}{
		{"broker counts exact", func(c *Controller) { c.brokers[0].leaders += 5 }},
		{"partition count matches partition lists", func(c *Controller) { c.partitionCount++ }},
	} {
		t.Run(tc.invariant, func(t *testing.T) {
			c := populated(t)
			tc.corrupt(c)
			if v := c.check(); v == nil || v.name != tc.invariant {
				t.Fatalf("check() = %v", v)
			}
			if _, err := Restore(DefaultConfig(), c.Snapshot()); err != nil {
				t.Fatalf("Restore: %v", err)
			}
		})
	}
}

func TestSnapshotDeterministic(t *testing.T) {
	a, b := populated(t), populated(t)
	if string(a.Snapshot()) != string(b.Snapshot()) || a.StateHash() != b.StateHash() {
		t.Fatal("same commands, different snapshots")
	}
	r, err := Restore(DefaultConfig(), a.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []Command{
		RegisterBroker{Broker: BrokerInfo{ID: 2, KafkaAddr: "k", RaftAddr: "r", Incarnation: 5}},
		CreatePartitions{Name: "b", TotalCount: 4},
		CreateTopic{Name: "c", TopicID: topicID(9), Partitions: 2, ReplicationFactor: 2},
	} {
		if string(EncodeResult(a.Apply(cmd))) != string(EncodeResult(r.Apply(cmd))) || a.StateHash() != r.StateHash() {
			t.Fatalf("restored controller diverged at %#v", cmd)
		}
	}
	if _, err := Restore(Config{}, a.Snapshot()); err == nil {
		t.Fatal("Restore accepted an invalid config")
	}
}
