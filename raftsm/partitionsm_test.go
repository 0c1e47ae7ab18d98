package raftsm

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/partition"
)

const testPartitionShard = 100

func produceCmd(values ...string) []byte {
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{TimestampMs: 1000, Value: []byte(v)}
	}
	return partition.EncodeCommand(partition.Produce{NowMs: 1000, MaxMessageBytes: 1 << 20, Records: batch.Build(batch.BuildSpec{Records: recs})})
}

type offsetValue struct {
	offset int64
	value  string
}

// mustSplit decodes fetched record bytes into each batch's (offset, value)
// pairs.
func mustSplit(t *testing.T, records []byte) [][]offsetValue {
	t.Helper()
	batches, err := batch.Split(records)
	if err != nil {
		t.Fatalf("split fetched records: %v", err)
	}
	out := make([][]offsetValue, 0, len(batches))
	for _, b := range batches {
		h, _ := batch.ParseHeader(b)
		recs, err := batch.Records(b)
		if err != nil {
			t.Fatalf("records of batch at %d: %v", h.BaseOffset, err)
		}
		vs := make([]offsetValue, len(recs))
		for j, r := range recs {
			vs[j] = offsetValue{h.BaseOffset + int64(j), string(r.Value)}
		}
		out = append(out, vs)
	}
	return out
}

// readAll fetches the whole log through host i (a linearizable read) and
// returns its values in offset order, checking that offsets are dense.
func readAll(c *testCluster, i int) []string {
	c.t.Helper()
	var out []string
	next := int64(0)
	for {
		res := c.read(i, func(l *partition.Log) (any, error) { return l.Fetch(next, 1<<20), nil }).(partition.FetchResult)
		if res.Err != nil {
			c.t.Fatalf("host %d fetch at %d: %v", i, next, res.Err)
		}
		if len(res.Records) == 0 {
			return out
		}
		for _, b := range mustSplit(c.t, res.Records) {
			for _, v := range b {
				if v.offset < next {
					continue // a batch may start before the fetch offset
				}
				if v.offset != next {
					c.t.Fatalf("host %d: offset %d follows %d", i, v.offset, next-1)
				}
				out = append(out, v.value)
				next++
			}
		}
	}
}

func sameValues(a, b []string) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d values, want %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Errorf("offset %d holds %q, want %q", i, a[i], b[i])
		}
	}
	return nil
}

// TestPartitionShardOverDragonboat is the production path of one partition:
// produce through Raft, lose the leader, keep producing, bring it back,
// replace a wiped replica under a new replica id (it catches up by
// snapshot), restart everything and read every record back from every
// replica.
func TestPartitionShardOverDragonboat(t *testing.T) {
	timing := DefaultRaftTiming()
	timing.SnapshotEntries, timing.CompactionOverheadEntries = 25, 5
	c := newTestCluster(t, 3, testPartitionShard, timing, func(_ int, db *stateDB) sm.IOnDiskStateMachine {
		return newPartitionSM(testPartitionShard, db, partition.DefaultConfig())
	})
	c.startAll()

	var want []string
	produce := func(n int) {
		for k := 0; k < n; k++ {
			vals := []string{fmt.Sprintf("v%d", len(want)), fmt.Sprintf("v%d", len(want)+1)}
			res, err := partition.DecodeResult(c.propose(produceCmd(vals...)))
			if err != nil {
				t.Fatal(err)
			}
			pr := res.(partition.ProduceResult)
			if pr.Err != nil || pr.BaseOffset != int64(len(want)) {
				t.Fatalf("produce %v: base offset %d err %v, want base %d", vals, pr.BaseOffset, pr.Err, len(want))
			}
			want = append(want, vals...)
		}
	}
	checkAll := func(when string) {
		for i := range c.hosts {
			if c.hosts[i] == nil {
				continue
			}
			c.waitFor(fmt.Sprintf("host %d to hold every record %s", i, when), func() bool { return sameValues(readAll(c, i), want) == nil })
		}
	}

	produce(20)
	old := c.leader()
	c.stop(old)
	produce(20) // a new leader takes over
	c.start(old, false)
	checkAll("after the old leader restarts")

	// Wipe a follower. It must not come back under its old replica id: it
	// is removed from the shard and added as a new replica, and catches up
	// by snapshot.
	wiped := (c.leader() + 1) % 3
	oldID := c.replicaIDs[wiped]
	c.stop(wiped)
	if err := os.RemoveAll(c.dirs[wiped]); err != nil {
		t.Fatal(err)
	}
	produce(40) // past several snapshot intervals
	lead := c.hosts[c.leader()]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// OrderedConfigChange: each change names the membership it replaces.
	m, err := lead.SyncGetShardMembership(ctx, testPartitionShard)
	if err != nil {
		t.Fatal(err)
	}
	if err := lead.SyncRequestDeleteReplica(ctx, testPartitionShard, oldID, m.ConfigChangeID); err != nil {
		t.Fatalf("remove the wiped replica: %v", err)
	}
	if m, err = lead.SyncGetShardMembership(ctx, testPartitionShard); err != nil {
		t.Fatal(err)
	}
	c.replicaIDs[wiped] = 4
	if err := lead.SyncRequestAddReplica(ctx, testPartitionShard, 4, c.addrs[wiped], m.ConfigChangeID); err != nil {
		t.Fatalf("add the replacement replica: %v", err)
	}
	c.start(wiped, true)
	checkAll("after the wiped replica rejoins")
	if c.events[wiped].snapshotsRecovered.Load() == 0 {
		t.Fatal("the wiped replica caught up without a snapshot: the test did not exercise snapshot transfer")
	}
	produce(5)

	c.stopAll()
	for i := range c.hosts {
		c.start(i, i == wiped) // the replacement was never an initial member
	}
	checkAll("after a full restart")
}
