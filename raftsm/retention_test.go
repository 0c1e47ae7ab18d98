package raftsm

import (
	"testing"
	"time"

	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
)

// TestRetentionPassProposesOnlyWhenDue: the leader's retention pass
// appends a Retain entry only to a partition where it would delete or
// expire something. An idle partition's Raft log does not grow pass after
// pass, and a batch past retention.ms is still deleted.
func TestRetentionPassProposesOnlyWhenDue(t *testing.T) {
	c := newNodeCluster(t, 1)
	c.cfgs[0].RetentionCheckIntervalMs = 50
	c.start(0)
	n := c.nodes[0]
	c.waitRegistered()

	topic := c.createTopic(0, controller.CreateTopic{Name: "ret", TopicID: controller.TopicID{7},
		Partitions: 1, ReplicationFactor: 1, NowMs: 1})
	shard := uint64(topic.Partitions[0].Shard)
	c.waitFor("a leader", func() bool { return c.leaderOf(shard) == 0 })

	applied := func() uint64 {
		n.mu.Lock()
		r := n.replicas[shard]
		n.mu.Unlock()
		r.part.mu.RLock()
		defer r.part.mu.RUnlock()
		return r.part.applied
	}
	// Let the election's entries apply, then watch ten passes go by.
	time.Sleep(200 * time.Millisecond)
	before := applied()
	time.Sleep(500 * time.Millisecond)
	if after := applied(); after != before {
		t.Fatalf("idle partition: applied index went from %d to %d over ten retention passes; want no Retain entries", before, after)
	}

	// produceCmd's records are stamped 1970, far past the default
	// retention.ms: the next pass deletes the batch.
	if base := c.produce(shard, "old"); base != 0 {
		t.Fatalf("produced at %d, want 0", base)
	}
	c.waitFor("retention to delete the batch", func() bool {
		var start int64
		if _, err := n.ReadPartition(shard, func(l *partition.Log) { start = l.Offsets().LogStartOffset }); err != nil {
			return false
		}
		return start == 1
	})
	time.Sleep(200 * time.Millisecond)
	before = applied()
	time.Sleep(500 * time.Millisecond)
	if after := applied(); after != before {
		t.Fatalf("after the deletion: applied index went from %d to %d; want no further Retain entries", before, after)
	}
}
