package raftsm

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/core/controller"
)

// TestBrokerNotInPeersJoins: a fourth broker that is not an initial peer
// is refused while no peer knows a cluster, then joins the running
// cluster through the peers' Kafka addresses as a non-voting controller
// replica, registers, gets replicas of new topics, and restarts.
func TestBrokerNotInPeersJoins(t *testing.T) {
	c := newNodeCluster(t, 4)
	peers, kafkaAddrs := map[int32]string{}, map[int32]string{}
	for i := 0; i < 3; i++ {
		peers[c.cfgs[i].NodeID], kafkaAddrs[c.cfgs[i].NodeID] = c.cfgs[i].RaftAddr, c.cfgs[i].KafkaAddr
	}
	for i := range c.cfgs {
		c.cfgs[i].Peers, c.cfgs[i].PeerKafkaAddrs = maps.Clone(peers), maps.Clone(kafkaAddrs)
	}
	if n, err := StartNode(c.cfgs[3]); err == nil {
		n.Close()
		t.Fatal("a broker outside --peers started with no cluster to join")
	} else if !strings.Contains(err.Error(), "not in the peer list and no peer") {
		t.Fatalf("refusal: %v", err)
	}
	for i := 0; i < 3; i++ {
		c.start(i)
	}
	c.waitFor("bootstrap and three registrations", func() bool {
		v := c.controllerView(0)
		return v.bootstrapped && len(v.brokers) == 3 && v.brokers[2].Info.Incarnation != 0
	})
	c.start(3)
	n4 := c.nodes[3]
	c.waitFor("node 4 to join the controller shard", func() bool { return n4.ctrlReplica.Load() != 0 })
	c.waitFor("node 4 registered", func() bool {
		v := c.controllerView(0)
		return len(v.brokers) == 4 && v.brokers[3].Info.Incarnation == n4.currentIdentity().Incarnation
	})
	c.waitFor("node 4 a non-voting controller member", func() bool {
		m := c.controllerMembership()
		if m == nil {
			return false
		}
		_, nonVoting := m.NonVotings[n4.ctrlReplica.Load()]
		return nonVoting && len(m.Nodes) == 3
	})

	topic := c.createTopic(3, controller.CreateTopic{Name: "four", TopicID: controller.TopicID{4},
		Partitions: 1, ReplicationFactor: 4, NowMs: 1})
	shard := uint64(topic.Partitions[0].Shard)
	var want []string
	for k := 0; k < 5; k++ {
		v := fmt.Sprintf("v%d", k)
		c.produce(shard, v)
		want = append(want, v)
	}
	c.waitFor("node 4 to hold the records", func() bool { return sameValues(c.localValues(3, shard), want) == nil })

	c.stop(3)
	c.start(3)
	if got := c.nodes[3].currentIdentity().ControllerMember; got != controllerMemberJoined {
		t.Fatalf("after a restart node 4's controller membership is %q", got)
	}
	c.produce(shard, "after")
	want = append(want, "after")
	c.waitFor("node 4 to hold the records after a restart", func() bool { return sameValues(c.localValues(3, shard), want) == nil })
	c.leaders.check(t)
}
