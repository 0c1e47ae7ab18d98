package raftsm

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"

	"github.com/tidemark/tidemark/core/controller"
)

// TestWipedBrokersRejoinAsNewIncarnations wipes one broker's data dir in a
// running 3-broker cluster (stop its Node, delete the dir, start it with
// the same config), first a broker that leads neither the controller nor
// the partition, then the controller leader. Each time it must come back
// as a new incarnation under new replica ids in the controller shard and
// in its partition, catch up by snapshot, and hold every record produced
// before and after; no shard may ever have two leaders in one term.
func TestWipedBrokersRejoinAsNewIncarnations(t *testing.T) {
	c := newNodeCluster(t, 3)
	for i := range c.cfgs {
		// Snapshots every few entries, and little log kept behind them, so
		// a replica that starts empty can only catch up by snapshot.
		c.cfgs[i].Timing.SnapshotEntries, c.cfgs[i].Timing.CompactionOverheadEntries = 10, 2
		// produceCmd's batches carry old timestamps: no retention pass may
		// delete them while the test runs.
		c.cfgs[i].RetentionCheckIntervalMs = time.Hour.Milliseconds()
	}
	for i := range c.nodes {
		c.start(i)
	}
	c.waitRegistered()
	// controllerDo proposes through the controller leader, retrying
	// through elections and joins.
	controllerDo := func(cmd controller.Command) controller.Result {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			i := c.leaderOfController()
			if i < 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			res, err := c.nodes[i].ProposeController(ctx, cmd)
			cancel()
			if err != nil {
				continue
			}
			if e := controller.ResultErr(res); e != nil {
				t.Fatalf("%T: %v", cmd, e)
			}
			return res
		}
		t.Fatalf("%T: no proposal succeeded", cmd)
		return nil
	}
	controllerDo(controller.CreateTopic{Name: "wiped", TopicID: controller.TopicID{7}, Partitions: 1, ReplicationFactor: 3, NowMs: 1})
	var topic controller.TopicInfo
	c.waitFor("the topic on node 1", func() bool {
		ok := false
		c.nodes[0].ReadController(func(ctl *controller.Controller) { topic, ok = ctl.Topic("wiped") })
		return ok
	})
	shard := uint64(topic.Partitions[0].Shard)
	c.waitFor("every node to run the partition", func() bool {
		for _, n := range c.nodes {
			if len(n.LocalShards()) != 3 { // the partition and two group shards
				return false
			}
		}
		return true
	})

	var want []string
	produce := func(n int) {
		for k := 0; k < n; k++ {
			v := fmt.Sprintf("r%d", len(want))
			if base := c.produce(shard, v); base != int64(len(want)) {
				t.Fatalf("base offset %d, want %d", base, len(want))
			}
			want = append(want, v)
		}
	}
	// Controller entries too, so that the controller shard's log is
	// compacted past what a wiped replica could replay.
	controllerEntries := func(n int) {
		for k := 0; k < n; k++ {
			controllerDo(controller.AllocateProducerIDs{Count: 1})
		}
	}
	checkAll := func(when string) {
		t.Helper()
		for i := range c.nodes {
			c.waitFor(fmt.Sprintf("node %d to hold every record %s", i+1, when), func() bool {
				return sameValues(c.localValues(i, shard), want) == nil
			})
		}
	}
	ctrlLeader := c.leaderOfController

	produce(15)
	controllerEntries(15)

	wipe := func(victim int, what string) {
		t.Helper()
		oldCtrl := c.nodes[victim].ctrlReplica.Load()
		oldPart := localReplicaID(c.controllerView(victim).shardByID(shard), int32(victim+1))
		oldIncarnation := c.nodes[victim].currentIdentity().Incarnation
		if oldPart == 0 {
			t.Fatalf("node %d has no partition replica", victim+1)
		}
		c.stop(victim)
		if err := os.RemoveAll(c.cfgs[victim].DataDir); err != nil {
			t.Fatal(err)
		}
		produce(15) // the survivors go on, past several snapshots
		controllerEntries(15)
		c.start(victim)
		n := c.nodes[victim]
		if n.currentIdentity().Incarnation == oldIncarnation {
			t.Fatalf("%s: the wiped node kept its incarnation", what)
		}
		c.waitFor(what+": the wiped node to join the controller shard", func() bool { return n.ctrlReplica.Load() != 0 })
		if got := n.ctrlReplica.Load(); got == oldCtrl || got <= 3 {
			t.Fatalf("%s: controller replica id %d after the wipe, was %d: a new id above every earlier one was wanted", what, got, oldCtrl)
		}
		c.waitFor(what+": the new incarnation registered and its partition replica renewed", func() bool {
			for _, j := range []int{victim, (victim + 1) % 3} {
				v := c.controllerView(j)
				var inc uint64
				for _, b := range v.brokers {
					if b.Info.ID == int32(victim+1) {
						inc = b.Info.Incarnation
					}
				}
				rid := localReplicaID(v.shardByID(shard), int32(victim+1))
				if inc != n.currentIdentity().Incarnation || rid == 0 || rid == oldPart {
					return false
				}
			}
			return true
		})
		c.waitFor(what+": the controller membership to hold the new replica and not the old", func() bool {
			m := c.controllerMembership()
			if m == nil {
				return false
			}
			_, hasNew := m.Nodes[n.ctrlReplica.Load()]
			_, hasOld := m.Nodes[oldCtrl]
			return hasNew && !hasOld && len(m.Nodes) == 3
		})
		checkAll(what + " after the wipe")
		ctrlSnaps, partSnaps := n.ev.snapshotsRecoveredOf(uint64(controller.ControllerShardID)), n.ev.snapshotsRecoveredOf(shard)
		if ctrlSnaps == 0 || partSnaps == 0 {
			t.Fatalf("%s: the wiped node recovered %d controller and %d partition snapshots: both were meant to catch up by snapshot",
				what, ctrlSnaps, partSnaps)
		}
		produce(5)
		controllerEntries(2)
		checkAll(what + " after producing again")
	}

	// A follower of both the controller and the partition.
	follower := -1
	for i := range c.nodes {
		if i != ctrlLeader() && i != c.leaderOf(shard) {
			follower = i
		}
	}
	if follower < 0 {
		t.Fatal("no node follows both the controller and the partition")
	}
	wipe(follower, "wiped follower")

	// The controller leader.
	c.waitFor("a controller leader", func() bool { return ctrlLeader() >= 0 })
	wipe(ctrlLeader(), "wiped controller leader")

	// Everything survives a full restart, the rejoined replicas restarting
	// as joiners.
	for i := range c.nodes {
		c.stop(i)
	}
	for i := range c.nodes {
		c.start(i)
	}
	checkAll("after a full restart")
	if n := c.leaders.check(t); n == 0 {
		t.Fatal("no leader change was observed: the two-leader check saw nothing")
	}
}

// leaderOfController returns the index of the node whose controller
// replica leads, or -1.
func (c *nodeCluster) leaderOfController() int {
	for i, n := range c.nodes {
		if n == nil {
			continue
		}
		self := n.ctrlReplica.Load()
		leader, _, ok, err := n.nh.GetLeaderID(uint64(controller.ControllerShardID))
		if self != 0 && err == nil && ok && leader == self {
			return i
		}
	}
	return -1
}

// controllerMembership reads the controller shard's membership through its
// leader, nil if that fails.
func (c *nodeCluster) controllerMembership() *dragonboat.Membership {
	i := c.leaderOfController()
	if i < 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := c.nodes[i].nh.SyncGetShardMembership(ctx, uint64(controller.ControllerShardID))
	if err != nil {
		return nil
	}
	return m
}

func (v controllerView) shardByID(id uint64) controller.ShardInfo {
	for _, s := range v.shards {
		if uint64(s.ID) == id {
			return s
		}
	}
	return controller.ShardInfo{}
}
