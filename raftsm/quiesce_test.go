package raftsm

import (
	"testing"
	"time"

	"github.com/tidemark/tidemark/core/controller"
)

// TestIdlePartitionElectsAfterItsLeaderDies: a partition left idle long
// enough to quiesce (20 election timeouts: 10 s with the default timing)
// still elects a new leader when its leader's broker stops. Its quiesced
// followers count no election timeouts and expect no heartbeats; the ISR
// tracker wakes them once it cannot reach the leader's broker. Without
// wakeReplicas this test fails: the followers keep the dead leader.
func TestIdlePartitionElectsAfterItsLeaderDies(t *testing.T) {
	c := newNodeCluster(t, 3)
	for i := range c.cfgs {
		c.start(i)
	}
	c.waitRegistered()
	topic := c.createTopic(0, controller.CreateTopic{Name: "idle", TopicID: controller.TopicID{6},
		Partitions: 1, ReplicationFactor: 3, NowMs: 1})
	shard := uint64(topic.Partitions[0].Shard)
	c.produce(shard, "before")
	c.waitFor("a leader", func() bool { return c.leaderOf(shard) >= 0 })
	// dragonboat quiesces after 10 x (2 x ElectionRTT) ticks of one RTT.
	quiesceAfter := time.Duration(20*c.cfgs[0].Timing.ElectionRTT*c.cfgs[0].Timing.RTTMs) * time.Millisecond
	time.Sleep(quiesceAfter + 2*time.Second)

	old := c.leaderOf(shard)
	if old < 0 {
		t.Fatal("the idle partition lost its leader before any broker stopped")
	}
	stopped := time.Now()
	c.stop(old)
	c.waitFor("a new leader", func() bool { i := c.leaderOf(shard); return i >= 0 && i != old })
	t.Logf("new leader %v after the stop", time.Since(stopped).Round(time.Millisecond))
	c.produce(shard, "after")
	for i := range c.nodes {
		if i == old {
			continue
		}
		c.waitFor("both records on every running broker", func() bool {
			got := c.localValues(i, shard)
			return len(got) == 2 && got[0] == "before" && got[1] == "after"
		})
	}
}
