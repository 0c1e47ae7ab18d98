package controller

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/tidemark/tidemark/core"
)

func spreads(c *Controller) (leaders, replicas int) {
	l, r := c.PreferredLeaderCounts()
	lmin, lmax, rmin, rmax := int(^uint(0)>>1), 0, int(^uint(0)>>1), 0
	for id := range l {
		lmin, lmax = min(lmin, l[id]), max(lmax, l[id])
		rmin, rmax = min(rmin, r[id]), max(rmax, r[id])
	}
	return lmax - lmin, rmax - rmin
}

// TestBalance creates topics on a fixed broker set and checks, after every
// creation: preferred leaders per broker differ by at most 1 (guaranteed,
// see assign.go); without racks, replicas per broker differ by at most 2
// (the heuristic's measured bound); with racks, each shard spans
// min(rf, racks) racks.
func TestBalance(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 9).Draw(t, "brokers")
		racked := rapid.Bool().Draw(t, "racked")
		brokers := testBrokers(n)
		if racked {
			k := rapid.IntRange(1, 4).Draw(t, "racks")
			for i := range brokers {
				if r := rapid.IntRange(0, k).Draw(t, "rack"); r > 0 { // 0: no rack
					brokers[i].Rack = fmt.Sprintf("rack%d", r)
				}
			}
		}
		c := newBootstrapped(t, DefaultConfig(), brokers, rapid.Int32Range(1, 6).Draw(t, "groupShards"),
			rapid.Int32Range(1, int32(n)).Draw(t, "groupRF"))
		fixedRF := rapid.Bool().Draw(t, "fixedRF")
		rf := rapid.Int32Range(1, int32(n)).Draw(t, "rf")
		topics := rapid.IntRange(1, 40).Draw(t, "topics")
		for i := 0; i < topics; i++ {
			if !fixedRF {
				rf = rapid.Int32Range(1, int32(n)).Draw(t, "rf")
			}
			name := fmt.Sprintf("t%d", i)
			mustOK(t, c.Apply(CreateTopic{Name: name, TopicID: topicID(i + 1),
				Partitions: rapid.Int32Range(1, 24).Draw(t, "partitions"), ReplicationFactor: rf}))
			ls, rs := spreads(c)
			if ls > 1 {
				l, _ := c.PreferredLeaderCounts()
				t.Fatalf("after %d topics preferred leaders per broker %v", i+1, l)
			}
			if !racked && rs > 2 {
				_, r := c.PreferredLeaderCounts()
				t.Fatalf("after %d topics replicas per broker %v", i+1, r)
			}
			ti, _ := c.Topic(name)
			for _, p := range ti.Partitions {
				if got, want := rackCount(c, p.Replicas), rackCount(c, nil); got < min(int(rf), want) {
					t.Fatalf("partition %v spans %d racks, %d available", p.Replicas, got, want)
				}
			}
		}
	})
}

// rackCount counts the racks of replicas' brokers (all brokers for nil); a
// broker without a rack is a rack of its own.
func rackCount(c *Controller, replicas []Replica) int {
	racks := map[string]bool{}
	if replicas == nil {
		for _, b := range c.Brokers() {
			replicas = append(replicas, Replica{BrokerID: b.Info.ID})
		}
	}
	for _, r := range replicas {
		b, _ := c.Broker(r.BrokerID)
		rack := b.Info.Rack
		if rack == "" {
			rack = fmt.Sprintf("\x00broker%d", r.BrokerID)
		}
		racks[rack] = true
	}
	return len(racks)
}

// TestPlacementGolden pins one small layout, so that a change to the
// placement rules shows up in review.
func TestPlacementGolden(t *testing.T) {
	c := newBootstrapped(t, DefaultConfig(), testBrokers(3), 3, 3)
	mustOK(t, c.Apply(CreateTopic{Name: "orders", TopicID: topicID(1), Partitions: 6, ReplicationFactor: 2}))
	got := ""
	for _, s := range c.Shards() {
		got += fmt.Sprintf("%d:", s.ID)
		for _, r := range s.Replicas {
			got += fmt.Sprintf(" b%d/r%d", r.BrokerID, r.ReplicaID)
		}
		got += "\n"
	}
	want := `16: b1/r1 b2/r2 b0/r3
17: b2/r4 b0/r5 b1/r6
18: b0/r7 b1/r8 b2/r9
19: b1/r10 b2/r11
20: b2/r12 b0/r13
21: b0/r14 b1/r15
22: b1/r16 b2/r17
23: b2/r18 b0/r19
24: b0/r20 b1/r21
`
	if got != want {
		t.Fatalf("layout:\n%s\nwant:\n%s", got, want)
	}
}

func TestNewBrokerTakesNewLeadersFirst(t *testing.T) {
	c := newBootstrapped(t, DefaultConfig(), testBrokers(2), 2, 2)
	mustOK(t, c.Apply(CreateTopic{Name: "a", TopicID: topicID(1), Partitions: 4, ReplicationFactor: 2}))
	mustOK(t, c.Apply(RegisterBroker{Broker: brokerInfo(7, "")}))
	mustOK(t, c.Apply(CreateTopic{Name: "b", TopicID: topicID(2), Partitions: 3, ReplicationFactor: 1}))
	ti, _ := c.Topic("b")
	for _, p := range ti.Partitions {
		if p.Replicas[0].BrokerID != 7 {
			t.Fatalf("partition %d led by %d, want the new broker 7 (it has no leaderships)", p.Index, p.Replicas[0].BrokerID)
		}
	}
}

func TestWipedBrokerRejoinsUnderNewIDs(t *testing.T) {
	c := newBootstrapped(t, DefaultConfig(), testBrokers(3), 1, 3)
	mustOK(t, c.Apply(CreateTopic{Name: "a", TopicID: topicID(1), Partitions: 2, ReplicationFactor: 2}))
	before := c.Shards()
	wiped := brokerInfo(1, "")
	wiped.Incarnation = 42
	res := mustOK(t, c.Apply(RegisterBroker{Broker: wiped, NowMs: 9})).(RegisterBrokerResult)
	after := c.Shards()
	var want []ReplicaReplacement
	next := ReplicaID(8) // 3 group replicas + 4 partition replicas came first
	for i, s := range before {
		for j, r := range s.Replicas {
			if r.BrokerID == 1 {
				want = append(want, ReplicaReplacement{ShardID: s.ID, BrokerID: 1, OldReplicaID: r.ReplicaID, NewReplicaID: next})
				if after[i].Replicas[j].ReplicaID != next || after[i].InitialReplicas[j] != r {
					t.Fatalf("shard %d: %+v initial %+v", s.ID, after[i].Replicas[j], after[i].InitialReplicas[j])
				}
				next++
			}
		}
	}
	if fmt.Sprint(res.Replacements) != fmt.Sprint(want) || len(want) == 0 {
		t.Fatalf("replacements %v, want %v", res.Replacements, want)
	}
	// The same incarnation again is a restart: nothing changes.
	h := c.StateHash()
	res = mustOK(t, c.Apply(RegisterBroker{Broker: wiped, NowMs: 9})).(RegisterBrokerResult)
	if len(res.Replacements) != 0 || c.StateHash() != h {
		t.Fatal("re-registering the same incarnation replaced replicas")
	}
}

// TestBootstrapBeforeRegistration: the bootstrapping broker lists the
// initial brokers by id and Raft address only; each one's first
// registration adopts its incarnation without replacing replicas, and a
// later different incarnation is still a wipe.
func TestBootstrapBeforeRegistration(t *testing.T) {
	c := New(DefaultConfig())
	unregistered := []BrokerInfo{{ID: 1, RaftAddr: "r1"}, {ID: 2, RaftAddr: "r2"}, {ID: 3, RaftAddr: "r3"}}
	mustOK(t, c.Apply(Bootstrap{ClusterID: "c", GroupShardCount: 2, GroupReplicationFactor: 3, Brokers: unregistered}))
	// A retry of the same Bootstrap is accepted.
	mustOK(t, c.Apply(Bootstrap{ClusterID: "c", GroupShardCount: 2, GroupReplicationFactor: 3, Brokers: unregistered}))
	// Registration needs a real incarnation and Kafka address.
	wantCode(t, c.Apply(RegisterBroker{Broker: BrokerInfo{ID: 1, RaftAddr: "r1", KafkaAddr: "k1"}}), core.InvalidRequest)
	before := c.Shards()
	for id := int32(1); id <= 3; id++ {
		b := brokerInfo(id, "")
		res := mustOK(t, c.Apply(RegisterBroker{Broker: b, NowMs: 5})).(RegisterBrokerResult)
		if len(res.Replacements) != 0 {
			t.Fatalf("first registration of broker %d replaced replicas: %v", id, res.Replacements)
		}
		if got, _ := c.Broker(id); got.Info != b {
			t.Fatalf("broker %d registered as %+v, want %+v", id, got.Info, b)
		}
	}
	if fmt.Sprint(c.Shards()) != fmt.Sprint(before) {
		t.Fatal("first registrations changed the shards")
	}
	wiped := brokerInfo(2, "")
	wiped.Incarnation = 4242
	res := mustOK(t, c.Apply(RegisterBroker{Broker: wiped, NowMs: 6})).(RegisterBrokerResult)
	if len(res.Replacements) != 2 {
		t.Fatalf("a wiped broker on 2 group shards got %d replacements", len(res.Replacements))
	}
}

func TestGroupShardFor(t *testing.T) {
	// FNV-1a 32 of "a" is 0xe40c292c.
	if got := GroupShardIndex("a", 1000); got != int32(0xe40c292c%1000) {
		t.Fatalf("GroupShardIndex(a, 1000) = %d", got)
	}
	c := newBootstrapped(t, DefaultConfig(), testBrokers(1), 5, 1)
	gs := c.GroupShards()
	if len(gs) != 5 || gs[0] != FirstAllocatedShardID || gs[4] != FirstAllocatedShardID+4 {
		t.Fatalf("group shards %v", gs)
	}
	if got := c.GroupShardFor("a"); got != gs[0xe40c292c%5] {
		t.Fatalf("GroupShardFor(a) = %d", got)
	}
}
