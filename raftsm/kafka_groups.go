package raftsm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	kafkanet "github.com/tidemark/tidemark/net"
)

// Bounds of the group APIs at this broker.
const (
	// groupProposeTimeout bounds one proposal to a group shard.
	groupProposeTimeout = 5 * time.Second
	// maxParkedGroupRequests bounds the JoinGroup and SyncGroup requests
	// parked (or being proposed) at this broker. Over it a request is
	// answered COORDINATOR_NOT_AVAILABLE before it is proposed, and the
	// client retries.
	maxParkedGroupRequests = 10_000
	// maxLoggedCompletionsPerWaiter bounds the completions kept for one
	// waiter key until its request reads them. A request needs the first
	// completion after its own entry; more than a handful for one key in
	// that time means members re-sending requests in a tight loop.
	maxLoggedCompletionsPerWaiter = 8
	// parkedLeaderCheckInterval is how often a parked request checks that
	// this broker still leads the group's shard: the entries that would
	// answer it are proposed by the leader, so after losing leadership it
	// is answered NOT_COORDINATOR and the client finds the new coordinator.
	parkedLeaderCheckInterval = 200 * time.Millisecond
	// parkedJoinMarginMs is added to a JoinGroup's rebalance timeout (or
	// the initial rebalance delay, if longer) to bound its wait (a safety
	// net: the coordinator answers every parked join by then, given
	// Ticks).
	parkedJoinMarginMs = 5_000
	// maxParkedWaitMs caps any parked wait (SyncGroup has no timeout of
	// its own in the request); Kafka's largest session timeout by default.
	maxParkedWaitMs = 1_800_000
)

// GroupCompletions routes the completions of a node's group shards to the
// JoinGroup and SyncGroup requests parked at this broker. Every Node has
// one (Node.groups): its group shards deliver to it as entries apply, and
// the node's KafkaClusters wait on it.
//
// How a request finds its answer: core answers a parked request with the
// first completion for its Waiter (group, member, kind) produced by an
// entry applied after the request's own entry (at most one request per
// waiter is parked at a time; a re-sent request supersedes the older one,
// which is answered by the re-sent request's own entry). So a request
// registers interest in its waiter key before proposing, every completion
// for a key with interest is logged with its groupApplySeq value, and the
// request, knowing its own entry's value from the proposal's result, takes
// the first logged completion with a larger value. A new member's id is
// not known before its entry applies: while a new member's JoinGroup is in
// flight, every join completion of its group is logged, and the request
// picks its own once the result names its id.
//
// Safe for concurrent use. Deliver runs under a group shard's lock and
// does not block.
type GroupCompletions struct {
	mu       sync.Mutex
	logs     map[waitKey]*waitLog
	newJoins map[shardGroup]int // in-flight JoinGroups of new members
	inFlight int                // registered requests, bounded by maxParkedGroupRequests
}

type waitKey struct {
	shard uint64
	w     group.Waiter
}

type shardGroup struct {
	shard uint64
	group string
}

// waitLog is the completions logged for one waiter key.
type waitLog struct {
	interest int // registered requests for the key
	entries  []loggedCompletion
	changed  chan struct{} // closed and replaced when an entry is logged
}

type loggedCompletion struct {
	seq uint64
	c   group.Completion
}

// NewGroupCompletions returns an empty router.
func NewGroupCompletions() *GroupCompletions {
	return &GroupCompletions{logs: map[waitKey]*waitLog{}, newJoins: map[shardGroup]int{}}
}

// Deliver is called by the node's group shards as entries apply: it logs each completion whose
// waiter key a request at this broker is interested in, and drops the
// others (requests parked at another broker, or gone).
func (g *GroupCompletions) Deliver(shardID uint64, cs []group.Completion) {
	seq := groupApplySeq.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		w := c.Waiter()
		k := waitKey{shard: shardID, w: w}
		l := g.logs[k]
		if l == nil {
			if w.Kind != group.WaitJoin || g.newJoins[shardGroup{shardID, w.Group}] == 0 {
				continue
			}
			l = &waitLog{changed: make(chan struct{})}
			g.logs[k] = l
		}
		if len(l.entries) >= maxLoggedCompletionsPerWaiter {
			l.entries = append(l.entries[:0], l.entries[1:]...)
		}
		l.entries = append(l.entries, loggedCompletion{seq: seq, c: c})
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// errTooManyParked answers a request over maxParkedGroupRequests.
var errTooManyParked = core.Errorf(core.CoordinatorNotAvailable, "%d group requests parked at this broker, its limit", maxParkedGroupRequests)

// register notes interest in k before its request is proposed.
func (g *GroupCompletions) register(k waitKey) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight >= maxParkedGroupRequests {
		return errTooManyParked
	}
	g.addInterestLocked(k)
	return nil
}

// registerNewMember notes interest in a new member's key once its id is
// known, without the bound: the request was admitted by beginNewJoin.
func (g *GroupCompletions) registerNewMember(k waitKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addInterestLocked(k)
}

func (g *GroupCompletions) addInterestLocked(k waitKey) {
	g.inFlight++
	l := g.logs[k]
	if l == nil {
		l = &waitLog{changed: make(chan struct{})}
		g.logs[k] = l
	}
	l.interest++
}

func (g *GroupCompletions) unregister(k waitKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	if l := g.logs[k]; l != nil {
		l.interest--
		if l.interest <= 0 {
			delete(g.logs, k)
		}
	}
}

// beginNewJoin notes a new member's JoinGroup in flight for the group.
func (g *GroupCompletions) beginNewJoin(sg shardGroup) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight >= maxParkedGroupRequests {
		return errTooManyParked
	}
	g.inFlight++
	g.newJoins[sg]++
	return nil
}

// endNewJoin ends a new member's JoinGroup in flight. When it was the
// group's last, completions logged for nobody are dropped.
func (g *GroupCompletions) endNewJoin(sg shardGroup) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	g.newJoins[sg]--
	if g.newJoins[sg] > 0 {
		return
	}
	delete(g.newJoins, sg)
	for k, l := range g.logs { // order does not matter: deletions only
		if k.shard == sg.shard && k.w.Group == sg.group && l.interest == 0 {
			delete(g.logs, k)
		}
	}
}

// next returns the first completion logged for k after seq, or the
// channel to wait on for the next one.
func (g *GroupCompletions) next(k waitKey, seq uint64) (group.Completion, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.logs[k]
	if l == nil { // interest is registered while a request waits
		return nil, nil
	}
	for _, e := range l.entries {
		if e.seq > seq {
			return e.c, nil
		}
	}
	return nil, l.changed
}

// ---- coordinator lookup ----

// groupShard returns the coordinator shard of groupID from the local
// controller state.
func (k *KafkaCluster) groupShard(groupID string) (controller.ShardInfo, error) {
	var (
		info controller.ShardInfo
		ok   bool
	)
	err := k.node.ReadController(func(c *controller.Controller) {
		if !c.Bootstrapped() {
			return
		}
		info, ok = c.Shard(c.GroupShardFor(groupID))
	})
	if err != nil {
		return info, core.Errorf(core.CoordinatorNotAvailable, "read the controller state: %v", err)
	}
	if !ok {
		return info, core.Errorf(core.CoordinatorNotAvailable, "the cluster is not bootstrapped yet")
	}
	return info, nil
}

// coordinatorShard returns the shard of groupID if this broker leads it:
// NOT_COORDINATOR otherwise.
func (k *KafkaCluster) coordinatorShard(groupID string) (uint64, error) {
	info, err := k.groupShard(groupID)
	if err != nil {
		return 0, err
	}
	shard := uint64(info.ID)
	if err := k.node.mustLead(shard); err != nil {
		return 0, notCoordinator(err, groupID)
	}
	return shard, nil
}

// notCoordinator turns the node's "not the leader" answers into
// NOT_COORDINATOR; other errors pass through.
func notCoordinator(err error, groupID string) error {
	var nl *NotLeaderError
	if errors.As(err, &nl) || errors.Is(err, ErrNoReplica) {
		return core.Errorf(core.NotCoordinator, "group %q: %v", groupID, err)
	}
	return err
}

// FindGroupCoordinator implements net.Cluster: the broker hosting the
// Raft leader of the group's shard, as this broker's replica sees it
// (COORDINATOR_NOT_AVAILABLE while it knows none, or while its own
// replica is starting). A broker not assigned a replica of the shard
// reports the preferred leader (the first replica), which leader
// placement moves leadership to; a client sent to the wrong broker gets
// NOT_COORDINATOR and asks again.
func (k *KafkaCluster) FindGroupCoordinator(groupID string) (kafkanet.BrokerMetadata, error) {
	info, err := k.groupShard(groupID)
	if err != nil {
		return kafkanet.BrokerMetadata{}, err
	}
	broker := int32(-1)
	if err := k.node.mustLead(uint64(info.ID)); err == nil {
		broker = k.node.cfg.NodeID
	} else {
		var nl *NotLeaderError
		switch {
		case errors.As(err, &nl):
			broker = nl.LeaderBroker
		case errors.Is(err, ErrNoReplica) && !hostsReplica(info, k.node.cfg.NodeID) && len(info.Replicas) > 0:
			broker = info.Replicas[0].BrokerID
		}
	}
	if broker < 0 {
		return kafkanet.BrokerMetadata{}, core.Errorf(core.CoordinatorNotAvailable, "group %q: shard %d has no leader", groupID, info.ID)
	}
	var (
		addr, rack string
		found      bool
	)
	if broker == k.node.cfg.NodeID {
		addr, rack, found = k.node.cfg.KafkaAddr, k.node.cfg.Rack, true
	} else {
		_ = k.node.ReadController(func(c *controller.Controller) {
			if b, ok := c.Broker(broker); ok && b.Info.KafkaAddr != "" {
				addr, rack, found = b.Info.KafkaAddr, b.Info.Rack, true
			}
		})
	}
	if !found {
		return kafkanet.BrokerMetadata{}, core.Errorf(core.CoordinatorNotAvailable, "group %q: coordinator broker %d has no address yet", groupID, broker)
	}
	bm, err := brokerMetadata(broker, addr, rack)
	if err != nil {
		return kafkanet.BrokerMetadata{}, core.Errorf(core.CoordinatorNotAvailable, "group %q: broker %d address: %v", groupID, broker, err)
	}
	return bm, nil
}

// hostsReplica reports whether broker is assigned a replica of the shard
// (its local replica may still be starting).
func hostsReplica(info controller.ShardInfo, broker int32) bool {
	for _, r := range info.Replicas {
		if r.BrokerID == broker {
			return true
		}
	}
	return false
}

// ---- proposals ----

// proposeGroup proposes cmd to a shard this broker leads and returns the
// entry's groupApplySeq value and output.
func (k *KafkaCluster) proposeGroup(ctx context.Context, shard uint64, groupID string, cmd group.Command) (uint64, group.Output, error) {
	pctx, cancel := context.WithTimeout(ctx, groupProposeTimeout)
	defer cancel()
	b, err := k.node.Propose(pctx, shard, group.EncodeCommand(cmd))
	if err != nil {
		return 0, group.Output{}, notCoordinator(err, groupID)
	}
	return decodeGroupApplyResult(b)
}

// nowMs stamps commands with this broker's clock.
func nowMs() int64 { return time.Now().UnixMilli() }

// JoinGroup implements net.Cluster (see GroupCompletions for the wait).
func (k *KafkaCluster) JoinGroup(ctx context.Context, cmd group.Join) (group.JoinResult, error) {
	shard, err := k.coordinatorShard(cmd.Group)
	if err != nil {
		return group.JoinResult{}, err
	}
	gc := k.node.groups
	cmd.NowMs = nowMs()
	sg := shardGroup{shard: shard, group: cmd.Group}
	newMember := cmd.MemberID == ""
	var key waitKey
	if gc != nil {
		if newMember {
			err = gc.beginNewJoin(sg)
		} else {
			key = waitKey{shard: shard, w: group.Waiter{Group: cmd.Group, MemberID: cmd.MemberID, Kind: group.WaitJoin}}
			err = gc.register(key)
		}
		if err != nil {
			return group.JoinResult{}, err
		}
	}
	seq, out, err := k.proposeGroup(ctx, shard, cmd.Group, cmd)
	res, ok := out.Result.(group.JoinResult)
	if err == nil && !ok {
		err = fmt.Errorf("group shard answered Join with %T", out.Result)
	}
	parked := err == nil && res.Parked
	if gc != nil && newMember {
		if parked {
			// Interest in the member's own key before the new-join
			// window closes, so nothing logged for it is dropped.
			key = waitKey{shard: shard, w: group.Waiter{Group: cmd.Group, MemberID: res.MemberID, Kind: group.WaitJoin}}
			gc.registerNewMember(key)
		}
		gc.endNewJoin(sg)
	}
	if gc != nil && (!newMember || parked) {
		defer gc.unregister(key)
	}
	if err != nil {
		return group.JoinResult{}, err
	}
	if !parked {
		return res, nil
	}
	// The coordinator answers by the join deadline (the rebalance
	// timeout) or, for a group's first rebalance, after the initial delay.
	wait := max(int64(cmd.RebalanceTimeoutMs), int64(k.node.cfg.Group.InitialRebalanceDelayMs))
	limit := min(wait+parkedJoinMarginMs, maxParkedWaitMs)
	c, err := k.awaitCompletion(ctx, gc, key, seq, limit)
	if err != nil {
		return group.JoinResult{MemberID: res.MemberID, Generation: -1, Err: asCoreError(err)}, nil
	}
	jc, ok := c.(group.JoinCompletion)
	if !ok {
		return group.JoinResult{}, fmt.Errorf("join waiter answered with %T", c)
	}
	return jc.Response, nil
}

// SyncGroup implements net.Cluster (see GroupCompletions for the wait).
func (k *KafkaCluster) SyncGroup(ctx context.Context, cmd group.Sync) (group.SyncResult, error) {
	shard, err := k.coordinatorShard(cmd.Group)
	if err != nil {
		return group.SyncResult{}, err
	}
	gc := k.node.groups
	cmd.NowMs = nowMs()
	key := waitKey{shard: shard, w: group.Waiter{Group: cmd.Group, MemberID: cmd.MemberID, Kind: group.WaitSync}}
	if gc != nil {
		if err := gc.register(key); err != nil {
			return group.SyncResult{}, err
		}
		defer gc.unregister(key)
	}
	seq, out, err := k.proposeGroup(ctx, shard, cmd.Group, cmd)
	if err != nil {
		return group.SyncResult{}, err
	}
	res, ok := out.Result.(group.SyncResult)
	if !ok {
		return group.SyncResult{}, fmt.Errorf("group shard answered Sync with %T", out.Result)
	}
	if !res.Parked {
		return res, nil
	}
	c, err := k.awaitCompletion(ctx, gc, key, seq, maxParkedWaitMs)
	if err != nil {
		return group.SyncResult{MemberID: cmd.MemberID, Err: asCoreError(err)}, nil
	}
	sc, ok := c.(group.SyncCompletion)
	if !ok {
		return group.SyncResult{}, fmt.Errorf("sync waiter answered with %T", c)
	}
	return sc.Response, nil
}

// awaitCompletion waits for the first completion for key after the
// request's own entry (seq). It returns a *core.Error when the wait ends
// without one: NOT_COORDINATOR when this broker stopped leading the shard
// (the new coordinator holds the member's state; the client finds it and
// re-sends), REBALANCE_IN_PROGRESS when ctx ends or limitMs passes (the
// client rejoins).
func (k *KafkaCluster) awaitCompletion(ctx context.Context, gc *GroupCompletions, key waitKey, seq uint64, limitMs int64) (group.Completion, error) {
	timer := time.NewTimer(time.Duration(limitMs) * time.Millisecond)
	defer timer.Stop()
	check := time.NewTicker(parkedLeaderCheckInterval)
	defer check.Stop()
	for {
		c, changed := gc.next(key, seq)
		if c != nil {
			return c, nil
		}
		if changed == nil {
			return nil, core.Errorf(core.RebalanceInProgress, "group %q: waiter for %s of %q lost", key.w.Group, key.w.Kind, key.w.MemberID)
		}
		select {
		case <-changed:
		case <-check.C:
			if err := k.node.mustLead(key.shard); err != nil {
				return nil, core.Errorf(core.NotCoordinator, "group %q: this broker stopped coordinating it while the %s of %q was parked",
					key.w.Group, key.w.Kind, key.w.MemberID)
			}
		case <-timer.C:
			return nil, core.Errorf(core.RebalanceInProgress, "group %q: %s of %q parked longer than %d ms",
				key.w.Group, key.w.Kind, key.w.MemberID, limitMs)
		case <-ctx.Done():
			return nil, core.Errorf(core.RebalanceInProgress, "group %q: request ended while parked: %v", key.w.Group, ctx.Err())
		}
	}
}

// Heartbeat implements net.Cluster.
func (k *KafkaCluster) Heartbeat(ctx context.Context, cmd group.Heartbeat) (group.HeartbeatResult, error) {
	shard, err := k.coordinatorShard(cmd.Group)
	if err != nil {
		return group.HeartbeatResult{}, err
	}
	cmd.NowMs = nowMs()
	_, out, err := k.proposeGroup(ctx, shard, cmd.Group, cmd)
	if err != nil {
		return group.HeartbeatResult{}, err
	}
	res, ok := out.Result.(group.HeartbeatResult)
	if !ok {
		return group.HeartbeatResult{}, fmt.Errorf("group shard answered Heartbeat with %T", out.Result)
	}
	return res, nil
}

// LeaveGroup implements net.Cluster.
func (k *KafkaCluster) LeaveGroup(ctx context.Context, cmd group.Leave) (group.LeaveResult, error) {
	shard, err := k.coordinatorShard(cmd.Group)
	if err != nil {
		return group.LeaveResult{}, err
	}
	cmd.NowMs = nowMs()
	_, out, err := k.proposeGroup(ctx, shard, cmd.Group, cmd)
	if err != nil {
		return group.LeaveResult{}, err
	}
	res, ok := out.Result.(group.LeaveResult)
	if !ok {
		return group.LeaveResult{}, fmt.Errorf("group shard answered Leave with %T", out.Result)
	}
	return res, nil
}

// CommitOffsets implements net.Cluster: offsets of topics or partitions
// missing from the local controller state are answered
// UNKNOWN_TOPIC_OR_PARTITION; the rest are proposed with the topic's
// current id (so that a topic deleted and created again under its name
// does not inherit them: see FetchOffsets).
func (k *KafkaCluster) CommitOffsets(ctx context.Context, cmd group.CommitOffsets) (group.CommitOffsetsResult, error) {
	shard, err := k.coordinatorShard(cmd.Group)
	if err != nil {
		return group.CommitOffsetsResult{}, err
	}
	res := group.CommitOffsetsResult{Partitions: make([]group.PartitionError, len(cmd.Offsets))}
	known := make([]bool, len(cmd.Offsets))
	err = k.node.ReadController(func(c *controller.Controller) {
		for i, o := range cmd.Offsets {
			t, ok := c.Topic(o.Topic)
			known[i] = ok && o.Partition >= 0 && int(o.Partition) < len(t.Partitions)
			if known[i] {
				cmd.Offsets[i].TopicID = t.ID
			}
		}
	})
	if err != nil {
		return group.CommitOffsetsResult{}, core.Errorf(core.CoordinatorNotAvailable, "read the controller state: %v", err)
	}
	sub := cmd
	sub.NowMs = nowMs()
	sub.Offsets = nil
	for i, o := range cmd.Offsets {
		res.Partitions[i] = group.PartitionError{Topic: o.Topic, Partition: o.Partition}
		if known[i] {
			sub.Offsets = append(sub.Offsets, o)
		} else {
			res.Partitions[i].Err = core.Errorf(core.UnknownTopicOrPartition, "no partition %d of topic %q", o.Partition, o.Topic)
		}
	}
	if len(sub.Offsets) == 0 {
		return res, nil
	}
	_, out, err := k.proposeGroup(ctx, shard, cmd.Group, sub)
	if err != nil {
		return group.CommitOffsetsResult{}, err
	}
	r, ok := out.Result.(group.CommitOffsetsResult)
	if !ok || len(r.Partitions) != len(sub.Offsets) {
		return group.CommitOffsetsResult{}, fmt.Errorf("group shard answered CommitOffsets of %d offsets with %T", len(sub.Offsets), out.Result)
	}
	j := 0
	for i := range cmd.Offsets {
		if known[i] {
			res.Partitions[i].Err = r.Partitions[j].Err
			j++
		}
	}
	return res, nil
}

// DeleteGroups implements net.Cluster: one DeleteGroups proposal per
// shard this broker leads; groups of other shards get NOT_COORDINATOR.
func (k *KafkaCluster) DeleteGroups(ctx context.Context, groups []string) ([]group.GroupError, error) {
	out := make([]group.GroupError, len(groups))
	byShard := map[uint64][]int{}
	var shards []uint64
	for i, id := range groups {
		out[i].Group = id
		shard, err := k.coordinatorShard(id)
		if err != nil {
			out[i].Err = asCoreError(err)
			continue
		}
		if _, seen := byShard[shard]; !seen {
			shards = append(shards, shard)
		}
		byShard[shard] = append(byShard[shard], i)
	}
	for _, shard := range shards {
		idx := byShard[shard]
		cmd := group.DeleteGroups{NowMs: nowMs()}
		for _, i := range idx {
			cmd.Groups = append(cmd.Groups, groups[i])
		}
		_, o, err := k.proposeGroup(ctx, shard, cmd.Groups[0], cmd)
		r, ok := o.Result.(group.DeleteGroupsResult)
		if err == nil && (!ok || len(r.Groups) != len(idx)) {
			err = fmt.Errorf("group shard answered DeleteGroups of %d groups with %T", len(idx), o.Result)
		}
		for j, i := range idx {
			if err != nil {
				out[i].Err = asCoreError(err)
			} else {
				out[i].Err = r.Groups[j].Err
			}
		}
	}
	return out, nil
}

// asCoreError keeps a *core.Error and turns anything else into
// COORDINATOR_NOT_AVAILABLE (the proposal did not complete; retriable).
func asCoreError(err error) *core.Error {
	var ke *core.Error
	if errors.As(err, &ke) {
		return ke
	}
	return core.Errorf(core.CoordinatorNotAvailable, "%v", err)
}

// ---- reads ----

// readGroupShard runs f on the applied coordinator of a shard this
// broker leads (a local read: the leader has applied every entry it
// answered a proposer for).
func (k *KafkaCluster) readGroupShard(shard uint64, f func(*group.Coordinator)) error {
	_, err := k.node.nh.StaleRead(shard, func(s wholeState) (any, error) {
		gs, ok := s.(*groupState)
		if !ok {
			return nil, fmt.Errorf("shard %d is not a group shard", shard)
		}
		f(gs.c)
		return nil, nil
	})
	return err
}

// FetchOffsets implements net.Cluster with a linearizable read (Raft
// ReadIndex) at the coordinator.
func (k *KafkaCluster) FetchOffsets(ctx context.Context, groupID string, partitions []group.TopicPartition) ([]group.FetchedOffset, error) {
	shard, err := k.coordinatorShard(groupID)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, groupProposeTimeout)
	defer cancel()
	v, err := k.node.nh.SyncRead(rctx, shard, func(s wholeState) (any, error) {
		gs, ok := s.(*groupState)
		if !ok {
			return nil, fmt.Errorf("shard %d is not a group shard", shard)
		}
		if partitions == nil {
			return gs.c.FetchAllOffsets(groupID)
		}
		return gs.c.FetchOffsets(groupID, partitions)
	})
	if err != nil {
		var ke *core.Error
		if errors.As(err, &ke) {
			return nil, ke
		}
		return nil, notCoordinator(err, groupID)
	}
	offsets, _ := v.([]group.FetchedOffset)
	return k.dropDeletedIncarnations(offsets, partitions == nil)
}

// dropDeletedIncarnations hides offsets committed under a topic id that
// is not the topic's current one (the topic was deleted, and perhaps
// created again): answered -1 when asked for by partition, left out of a
// whole-group fetch. Kafka deletes a topic's offsets with the topic; here
// they stay in the group shard until a commit under the new id drops them
// or they expire, but are never served. Offsets without an id (committed
// before ids were recorded) are served as they are.
func (k *KafkaCluster) dropDeletedIncarnations(offsets []group.FetchedOffset, all bool) ([]group.FetchedOffset, error) {
	current := map[string]controller.TopicID{}
	err := k.node.ReadController(func(c *controller.Controller) {
		for _, o := range offsets {
			if t, ok := c.Topic(o.Topic); ok {
				current[o.Topic] = t.ID
			}
		}
	})
	if err != nil {
		return nil, core.Errorf(core.CoordinatorNotAvailable, "read the controller state: %v", err)
	}
	out := offsets[:0]
	for _, o := range offsets {
		stale := o.TopicID != ([16]byte{}) && controller.TopicID(o.TopicID) != current[o.Topic]
		switch {
		case !stale:
			out = append(out, o)
		case !all:
			out = append(out, group.FetchedOffset{Topic: o.Topic, Partition: o.Partition, Offset: -1, LeaderEpoch: -1})
		}
	}
	return out, nil
}

// DescribeGroup implements net.Cluster with a local read at the
// coordinator. Byte slices are copied out of the state.
func (k *KafkaCluster) DescribeGroup(groupID string) (group.GroupDescription, error) {
	shard, err := k.coordinatorShard(groupID)
	if err != nil {
		return group.GroupDescription{}, err
	}
	var (
		d    group.GroupDescription
		derr error
	)
	err = k.readGroupShard(shard, func(c *group.Coordinator) {
		d, derr = c.DescribeGroup(groupID)
		for i := range d.Members {
			d.Members[i].Metadata = append([]byte(nil), d.Members[i].Metadata...)
			d.Members[i].Assignment = append([]byte(nil), d.Members[i].Assignment...)
		}
	})
	if err != nil {
		return group.GroupDescription{}, notCoordinator(err, groupID)
	}
	if derr != nil {
		return group.GroupDescription{}, derr
	}
	return d, nil
}

// ListGroups implements net.Cluster: the groups of every group shard this
// broker leads, sorted by shard and then by group id.
func (k *KafkaCluster) ListGroups() ([]group.GroupListing, error) {
	var out []group.GroupListing
	for _, shard := range k.node.LocalShards() {
		k.node.mu.Lock()
		isGroup := false
		if r := k.node.replicas[shard]; r != nil {
			isGroup = r.info.Kind == controller.ShardGroup // r.info is replaced under n.mu
		}
		k.node.mu.Unlock()
		if !isGroup || k.node.mustLead(shard) != nil {
			continue
		}
		if err := k.readGroupShard(shard, func(c *group.Coordinator) { out = append(out, c.ListGroups()...) }); err != nil {
			return nil, core.Errorf(core.CoordinatorNotAvailable, "read group shard %d: %v", shard, err)
		}
	}
	return out, nil
}
