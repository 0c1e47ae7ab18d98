package raftsm

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
	kafkanet "github.com/tidemark/tidemark/net"
)

// TestISRAndLeaderEpochs runs three brokers with a 1 s ISR lag window:
// a stopped broker leaves the ISR of every partition it replicates and
// rejoins once restarted and caught up; the leader epoch (the Raft term)
// grows across a leader change, and stored batches carry the epoch they
// were produced under.
func TestISRAndLeaderEpochs(t *testing.T) {
	c := newNodeCluster(t, 3)
	for i := range c.nodes {
		c.cfgs[i].isrTiming = &testISRConfig
		c.start(i)
	}
	c.waitRegistered()
	topic := c.createTopic(0, controller.CreateTopic{Name: "isr", TopicID: controller.TopicID{9},
		Partitions: 2, ReplicationFactor: 3, NowMs: 1})
	shard0 := uint64(topic.Partitions[0].Shard)

	// metadata is node i's view of the topic's partitions.
	metadata := func(i int) []kafkanet.PartitionMetadata {
		md, err := NewKafkaCluster(c.nodes[i], KafkaSettings{}).Metadata()
		if err != nil {
			return nil
		}
		for _, tm := range md.Topics {
			if tm.Name == "isr" {
				return tm.Partitions
			}
		}
		return nil
	}
	// isrIs waits until node i reports, for every partition, a known
	// leader and exactly the brokers want (sorted) in sync.
	isrIs := func(i int, want []int32, what string) {
		t.Helper()
		var last []kafkanet.PartitionMetadata
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			last = metadata(i)
			ok := len(last) == len(topic.Partitions)
			for _, p := range last {
				isr := slices.Sorted(slices.Values(p.ISR))
				ok = ok && p.Leader >= 0 && slices.Contains(p.ISR, p.Leader) && slices.Equal(isr, want)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: node %d reports %+v, want ISR %v everywhere", what, i+1, last, want)
			}
		}
	}
	// produce sends one batch through the partition-0 leader's Kafka view
	// and returns its offset and the leader epochs that leader reported
	// just before and just after.
	produce := func(value string) (offset int64, before, after int32) {
		t.Helper()
		records := batch.Build(batch.BuildSpec{Records: []batch.Record{{TimestampMs: 1, Value: []byte(value)}}})
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			i := c.leaderOf(shard0)
			if i < 0 {
				continue
			}
			before = metadata(i)[0].LeaderEpoch
			pctx, pcancel := context.WithTimeout(context.Background(), 3*time.Second)
			pr, err := NewKafkaCluster(c.nodes[i], KafkaSettings{}).Produce(pctx, "isr", 0, records)
			pcancel()
			if err != nil || pr.Err != nil {
				continue
			}
			return pr.BaseOffset, before, metadata(i)[0].LeaderEpoch
		}
		t.Fatalf("no produce of %q succeeded", value)
		return
	}
	// storedEpoch is the PartitionLeaderEpoch of the batch at offset in
	// node i's replica of partition 0.
	storedEpoch := func(i int, offset int64) int32 {
		t.Helper()
		var fr partition.FetchResult
		c.waitFor(fmt.Sprintf("node %d to hold offset %d", i+1, offset), func() bool {
			_, err := c.nodes[i].ReadPartition(shard0, func(l *partition.Log) { fr = l.Fetch(offset, 1<<20) })
			return err == nil && fr.Err == nil && len(fr.Records) > 0
		})
		bs, cerr := batch.Split(fr.Records)
		if cerr != nil || len(bs) == 0 {
			t.Fatalf("split fetched records: %v", cerr)
		}
		h, ok := batch.ParseHeader(bs[0])
		if !ok || h.BaseOffset != offset {
			t.Fatalf("batch at %d: header %+v (%t)", offset, h, ok)
		}
		return h.PartitionLeaderEpoch
	}

	isrIs(0, []int32{1, 2, 3}, "all replicas up")
	offA, beforeA, afterA := produce("a")

	// Stop partition 0's leader; every observer drops it from every ISR.
	victim := c.leaderOf(shard0)
	observer := (victim + 1) % 3
	epochA := storedEpoch(observer, offA)
	if epochA < 1 || epochA < beforeA || epochA > afterA {
		t.Fatalf("batch a stored under epoch %d; the leader reported %d before and %d after", epochA, beforeA, afterA)
	}
	c.stop(victim)
	var rest []int32
	for i := range 3 {
		if i != victim {
			rest = append(rest, int32(i+1))
		}
	}
	isrIs(observer, rest, fmt.Sprintf("broker %d stopped", victim+1))

	// A new leader, a higher epoch, and a batch stored under it.
	offB, beforeB, afterB := produce("b")
	epochB := storedEpoch(observer, offB)
	if epochB <= epochA || epochB < beforeB || epochB > afterB {
		t.Fatalf("batch b stored under epoch %d after a leader change from epoch %d; the leader reported %d before and %d after",
			epochB, epochA, beforeB, afterB)
	}
	if got := storedEpoch(observer, offA); got != epochA {
		t.Errorf("batch a's epoch changed from %d to %d", epochA, got)
	}

	// The stopped broker comes back and catches up: in sync again.
	c.start(victim)
	isrIs(observer, []int32{1, 2, 3}, fmt.Sprintf("broker %d restarted", victim+1))
	if n := c.leaders.check(t); n == 0 {
		t.Error("no leader change observed")
	}
}
