package raftsm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	kafkanet "github.com/tidemark/tidemark/net"
)

func joinDone(g, m string, gen int32) group.Completion {
	return group.JoinCompletion{Group: g, MemberID: m, Response: group.JoinResult{MemberID: m, Generation: gen}}
}

// TestGroupCompletionsRouting: a request takes the first completion for
// its waiter key applied after its own entry; earlier ones (answers to an
// older request of the same member) are skipped; keys nobody waits for are
// not kept; a new member's join finds completions logged before its id
// was known.
func TestGroupCompletionsRouting(t *testing.T) {
	gc := NewGroupCompletions()
	const shard = 7
	k := waitKey{shard: shard, w: group.Waiter{Group: "g", MemberID: "m1", Kind: group.WaitJoin}}
	if err := gc.register(k); err != nil {
		t.Fatal(err)
	}
	gc.Deliver(shard, []group.Completion{joinDone("g", "m1", 1)}) // answers an older request of m1
	own := groupApplySeq.Add(1)                                   // the request's own entry
	if c, ch := gc.next(k, own); c != nil || ch == nil {
		t.Fatalf("before any later completion: %v, %v; want none and a channel", c, ch)
	}
	_, ch := gc.next(k, own)
	gc.Deliver(shard, []group.Completion{joinDone("g", "other", 2)}) // nobody waits: dropped
	select {
	case <-ch:
		t.Fatal("a completion for another member woke the waiter")
	default:
	}
	gc.Deliver(shard, []group.Completion{joinDone("g", "m1", 2), joinDone("g", "m1", 3)})
	<-ch
	c, _ := gc.next(k, own)
	if jc, ok := c.(group.JoinCompletion); !ok || jc.Response.Generation != 2 {
		t.Fatalf("got %+v, want the generation-2 answer", c)
	}
	if gc.logs[waitKey{shard: shard, w: group.Waiter{Group: "g", MemberID: "other", Kind: group.WaitJoin}}] != nil {
		t.Error("a completion nobody waits for was kept")
	}
	gc.unregister(k)
	if len(gc.logs) != 0 || gc.inFlight != 0 {
		t.Errorf("after unregister: %d logs, %d in flight", len(gc.logs), gc.inFlight)
	}

	// A new member: its id is known only from its result.
	sg := shardGroup{shard: shard, group: "g"}
	if err := gc.beginNewJoin(sg); err != nil {
		t.Fatal(err)
	}
	ownNew := groupApplySeq.Add(1)
	gc.Deliver(shard, []group.Completion{joinDone("g", "m9", 4), group.SyncCompletion{Group: "g", MemberID: "m8"}})
	k9 := waitKey{shard: shard, w: group.Waiter{Group: "g", MemberID: "m9", Kind: group.WaitJoin}}
	gc.registerNewMember(k9)
	gc.endNewJoin(sg)
	if c, _ := gc.next(k9, ownNew); c == nil {
		t.Fatal("the new member's completion logged before its id was known is lost")
	}
	if len(gc.logs) != 1 {
		t.Errorf("%d logs kept, want only the new member's", len(gc.logs))
	}
	gc.unregister(k9)
	if len(gc.logs) != 0 || gc.inFlight != 0 || len(gc.newJoins) != 0 {
		t.Errorf("after the new member: %d logs, %d in flight, %d new joins", len(gc.logs), gc.inFlight, len(gc.newJoins))
	}

	// The bound.
	gc.inFlight = maxParkedGroupRequests
	if err := gc.register(k); core.CodeOf(err) != core.CoordinatorNotAvailable {
		t.Errorf("register over the bound: %v, want COORDINATOR_NOT_AVAILABLE", err)
	}
	if err := gc.beginNewJoin(sg); core.CodeOf(err) != core.CoordinatorNotAvailable {
		t.Errorf("new join over the bound: %v, want COORDINATOR_NOT_AVAILABLE", err)
	}
}

// TestKafkaGroupsOnNode runs the group calls against one real node:
// standalone commits (unknown topics refused), offsets of a deleted and
// re-created topic never served again, a parked join answered, and
// FindGroupCoordinator.
func TestKafkaGroupsOnNode(t *testing.T) {
	c := newNodeCluster(t, 1)
	c.cfgs[0].Group.InitialRebalanceDelayMs = 0
	c.start(0)
	k := NewKafkaCluster(c.nodes[0], KafkaSettings{DefaultPartitions: 1, DefaultReplicationFactor: 1})
	gc := c.nodes[0].groups
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c.waitFor("the coordinator of g", func() bool {
		b, err := k.FindGroupCoordinator("g")
		return err == nil && b.ID == 1
	})
	c.waitFor("topic t", func() bool {
		_, err := k.CreateTopic(ctx, kafkanet.TopicSpec{Name: "t", Partitions: 2, ReplicationFactor: 1})
		return err == nil || core.CodeOf(err) == core.TopicAlreadyExists
	})
	c.waitFor("the coordinator shard's leader", func() bool {
		_, err := k.coordinatorShard("g")
		return err == nil
	})

	res, err := k.CommitOffsets(ctx, group.CommitOffsets{Group: "g", Generation: -1, Offsets: []group.OffsetCommit{
		{Topic: "t", Partition: 0, Offset: 5, LeaderEpoch: -1}, {Topic: "t", Partition: 2, Offset: 1, LeaderEpoch: -1},
		{Topic: "t", Partition: 1, Offset: 6, LeaderEpoch: -1}, {Topic: "nope", Partition: 0, Offset: 1, LeaderEpoch: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	wantCodes := []core.Code{core.None, core.UnknownTopicOrPartition, core.None, core.UnknownTopicOrPartition}
	for i, p := range res.Partitions {
		if core.CodeOf(p.Err) != wantCodes[i] {
			t.Errorf("commit %s/%d: %v, want code %d", p.Topic, p.Partition, p.Err, wantCodes[i])
		}
	}
	offs, err := k.FetchOffsets(ctx, "g", []group.TopicPartition{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 1}})
	if err != nil || len(offs) != 2 || offs[0].Offset != 5 || offs[1].Offset != 6 {
		t.Fatalf("fetch: %+v, %v; want 5 and 6", offs, err)
	}

	// Delete t and create it again: its old offsets are not served.
	if r, err := c.nodes[0].ProposeController(ctx, controller.DeleteTopic{Name: "t"}); err != nil || controller.ResultErr(r) != nil {
		t.Fatalf("delete t: %v %v", err, controller.ResultErr(r))
	}
	c.waitFor("t created again", func() bool {
		_, err := k.CreateTopic(ctx, kafkanet.TopicSpec{Name: "t", Partitions: 2, ReplicationFactor: 1})
		return err == nil
	})
	offs, err = k.FetchOffsets(ctx, "g", []group.TopicPartition{{Topic: "t", Partition: 0}})
	if err != nil || len(offs) != 1 || offs[0].Offset != -1 {
		t.Errorf("fetch after re-creation: %+v, %v; want -1", offs, err)
	}
	if all, err := k.FetchOffsets(ctx, "g", nil); err != nil || len(all) != 0 {
		t.Errorf("fetch all after re-creation: %+v, %v; want none", all, err)
	}
	if _, err := k.CommitOffsets(ctx, group.CommitOffsets{Group: "g", Generation: -1, Offsets: []group.OffsetCommit{
		{Topic: "t", Partition: 1, Offset: 2, LeaderEpoch: -1}}}); err != nil {
		t.Fatal(err)
	}
	if all, err := k.FetchOffsets(ctx, "g", nil); err != nil || len(all) != 1 || all[0].Partition != 1 || all[0].Offset != 2 {
		t.Errorf("fetch all after a commit to the new t: %+v, %v; want only t/1 at 2", all, err)
	}

	// A join the coordinator parks is answered by the Tick that ends the
	// (zero) initial delay.
	join := group.Join{Group: "j", ClientID: "c", SessionTimeoutMs: 10_000, RebalanceTimeoutMs: 10_000, ProtocolType: "consumer",
		Protocols: []group.Protocol{{Name: "range"}}}
	c.waitFor("the coordinator of j", func() bool { _, err := k.coordinatorShard("j"); return err == nil })
	jr, err := k.JoinGroup(ctx, join)
	if err != nil || jr.Err != nil || jr.Parked || jr.Generation != 1 || jr.LeaderID != jr.MemberID {
		t.Fatalf("join: %+v, %v; want generation 1 led by the member", jr, err)
	}
	sr, err := k.SyncGroup(ctx, group.Sync{Group: "j", Generation: 1, MemberID: jr.MemberID,
		Assignments: []group.MemberAssignment{{MemberID: jr.MemberID, Assignment: []byte("a")}}})
	if err != nil || sr.Err != nil || string(sr.Assignment) != "a" {
		t.Fatalf("sync: %+v, %v", sr, err)
	}
	d, err := k.DescribeGroup("j")
	if err != nil || d.State != group.Stable || len(d.Members) != 1 || d.Members[0].ClientID != "c" {
		t.Errorf("describe: %+v, %v", d, err)
	}
	if gc.inFlight != 0 || len(gc.logs) != 0 {
		t.Errorf("after the calls: %d requests in flight, %d logs", gc.inFlight, len(gc.logs))
	}
	var nc *core.Error
	if _, err := k.Heartbeat(ctx, group.Heartbeat{Group: "j", Generation: 1, MemberID: jr.MemberID}); errors.As(err, &nc) {
		t.Errorf("heartbeat at the coordinator: %v", err)
	}
}

// TestKafkaGroupsCoordinatorMoves: on three brokers, a broker that does
// not lead the group's shard answers NOT_COORDINATOR and points
// FindGroupCoordinator at the one that does; a JoinGroup parked at the
// coordinator is answered NOT_COORDINATOR when that broker loses the
// shard's leadership.
func TestKafkaGroupsCoordinatorMoves(t *testing.T) {
	c := newNodeCluster(t, 3)
	for i := range c.cfgs {
		c.cfgs[i].Group.InitialRebalanceDelayMs = 20_000 // the join stays parked
	}
	for i := range c.cfgs {
		c.start(i)
	}
	ks := make([]*KafkaCluster, 3)
	for i := range ks {
		ks[i] = NewKafkaCluster(c.nodes[i], KafkaSettings{DefaultPartitions: 1, DefaultReplicationFactor: 3})
	}
	var info controller.ShardInfo
	// Led by its preferred replica: leader placement moves leadership
	// there, and a move after the leader is picked below would answer the
	// join NOT_COORDINATOR before it parks.
	c.waitFor("the group shard of g on every broker, led by its preferred replica", func() bool {
		var err error
		info, err = ks[0].groupShard("g")
		if err != nil {
			return false
		}
		for _, n := range c.nodes {
			found := false
			for _, s := range n.LocalShards() {
				found = found || s == uint64(info.ID)
			}
			if !found {
				return false
			}
		}
		return len(info.Replicas) > 0 && c.leaderOf(uint64(info.ID)) == int(info.Replicas[0].BrokerID)-1
	})
	shard := uint64(info.ID)
	leader := c.leaderOf(shard)
	other := (leader + 1) % 3
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c.waitFor("FindGroupCoordinator at a follower to name the leader", func() bool {
		b, err := ks[other].FindGroupCoordinator("g")
		return err == nil && b.ID == int32(leader+1) && b.Host != ""
	})
	join := group.Join{Group: "g", ClientID: "c", SessionTimeoutMs: 10_000, RebalanceTimeoutMs: 10_000, ProtocolType: "consumer",
		Protocols: []group.Protocol{{Name: "range"}}}
	if _, err := ks[other].JoinGroup(ctx, join); core.CodeOf(err) != core.NotCoordinator {
		t.Fatalf("join at a follower: %v, want NOT_COORDINATOR", err)
	}

	type answer struct {
		res group.JoinResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := ks[leader].JoinGroup(ctx, join)
		done <- answer{res, err}
	}()
	c.waitFor("the join to park", func() bool {
		d, err := ks[leader].DescribeGroup("g")
		return err == nil && d.State == group.PreparingRebalance && len(d.Members) == 1
	})
	// The coordinator's broker stops (a leader transfer would do, but
	// leader placement moves leadership back within a reconcile round,
	// and a wait that outlives a brief loss is still answered correctly).
	// Its KafkaCluster outlives the node, as handlers may.
	c.stop(leader)
	select {
	case a := <-done:
		if a.err != nil || core.CodeOf(a.res.Err) != core.NotCoordinator || a.res.MemberID == "" {
			t.Errorf("parked join after the coordinator moved: %+v, %v; want NOT_COORDINATOR with the member id", a.res, a.err)
		}
	case <-ctx.Done():
		t.Fatal("the parked join was not answered after the coordinator moved")
	}
}
