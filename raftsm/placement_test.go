package raftsm

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/core/controller"
)

// TestNoLeaderTransferToADeadBroker: after a partition's preferred leader
// stops, the new leader does not try to hand the partition back to it (a
// pending transfer drops every proposal for an election timeout, so each
// attempt was an outage); once the broker is back and caught up, the
// partition returns to it.
func TestNoLeaderTransferToADeadBroker(t *testing.T) {
	c := newNodeCluster(t, 3)
	var mu sync.Mutex
	var transfers []string // "shard->broker", in order
	for i := range c.cfgs {
		c.cfgs[i].onTransferHook = func(shard uint64, to int32) {
			mu.Lock()
			transfers = append(transfers, fmt.Sprintf("%d->%d", shard, to))
			mu.Unlock()
		}
		c.start(i)
	}
	c.waitRegistered()
	topic := c.createTopic(0, controller.CreateTopic{Name: "placed", TopicID: controller.TopicID{5},
		Partitions: 1, ReplicationFactor: 3, NowMs: 1})
	shard := uint64(topic.Partitions[0].Shard)
	preferred := -1
	for _, s := range c.controllerView(0).shards {
		if uint64(s.ID) == shard {
			preferred = int(s.Replicas[0].BrokerID) - 1
		}
	}
	if preferred < 0 {
		t.Fatal("the partition's shard is not in the controller view")
	}
	c.waitFor("the preferred broker to lead", func() bool { return c.leaderOf(shard) == preferred })
	c.produce(shard, "before")

	c.stop(preferred)
	mu.Lock()
	transfers = nil
	mu.Unlock()
	c.waitFor("a new leader", func() bool { i := c.leaderOf(shard); return i >= 0 && i != preferred })
	// Several transfer backoffs and ISR rounds: the old code asked for a
	// transfer to the stopped broker within one reconcile interval.
	time.Sleep(3 * time.Second)
	c.produce(shard, "after")
	dead := fmt.Sprintf("%d->%d", shard, preferred+1)
	mu.Lock()
	for _, tr := range transfers {
		if tr == dead {
			t.Errorf("leader transfer requested to stopped broker %d (transfers %v)", preferred+1, transfers)
			break
		}
	}
	mu.Unlock()

	c.start(preferred)
	c.waitFor("the preferred broker to lead again once it is back", func() bool { return c.leaderOf(shard) == preferred })
	if got := c.localValues(preferred, shard); len(got) != 2 || got[0] != "before" || got[1] != "after" {
		t.Fatalf("the returned broker reads %q, want [before after]", got)
	}
}
