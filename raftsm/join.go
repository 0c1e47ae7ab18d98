package raftsm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/tidemark/tidemark/core/controller"
)

// Joining the controller shard.
//
// The controller shard's initial members are the --peers, under replica id
// broker id + 1. A broker whose data dir was wiped has forgotten its votes
// and its log, so it must not start that replica again: it would answer
// votes as if it had never voted, and an empty log that the leader
// believes holds committed entries crashes dragonboat ("invalid commitTo
// index") or, with the leader down, lets a lagging replica win an election
// without entries the cluster committed.
//
// So a data dir's first start (identity.ControllerMember "undecided") asks
// the peers, over the join side channel on their Kafka listeners
// (join_wire.go), whether a cluster exists:
//
//   - No peer names one (none reachable, or all fresh): this is a new
//     cluster, and the replica starts as an initial member ("initial").
//   - A peer names one: the data dir is new to an existing cluster (wiped,
//     or the broker starts after the others bootstrapped). It records
//     "joining" and the cluster id, starts no controller replica, and its
//     loop asks peers until the controller leader has removed whatever
//     replica the shard holds at this broker's Raft address and added a
//     new one (remove, then add, each an ordered membership change). The
//     new id is above every id the shard's membership has ever held
//     (current members, non-voting, witnesses and removed ids, which
//     dragonboat keeps forever), and the add names the membership it read
//     (OrderedConfigChange), so two concurrent joins cannot both get one
//     id: the second add fails and is retried on the new membership. The
//     id is recorded ("joined") before the replica starts, as a joiner; it
//     catches up from the leader, by snapshot when the log was compacted.
//
// Then the node registers its new incarnation and the controller renews
// its partition and group replicas as before (RegisterBroker).
//
// A broker that is not in --peers (added to a running cluster) takes the
// same path, but must find a cluster (it refuses to start otherwise) and
// is added as a non-voting replica: it follows the metadata and forwards
// proposals, and the controller's majority stays the initial peers'.
//
// What remains unsafe (docs/operations.md): a wiped broker that reaches no
// peer at its first start (all down, or no Kafka addresses configured)
// cannot tell the wipe from a new cluster and starts as an initial member.

// startControllerAtBoot decides, at a fresh data dir's first start, how
// this broker takes part in the controller shard, and starts its replica
// unless it has to wait to be added.
func (n *Node) startControllerAtBoot(fresh bool) error {
	if n.id.ControllerMember == controllerMemberUndecided {
		clusterID, asked := n.probePeers()
		if _, peer := n.cfg.Peers[n.cfg.NodeID]; !peer && clusterID == "" {
			// Nothing recorded: the next start asks again.
			return fmt.Errorf("node %d is not in the peer list and no peer (%d asked) reports a cluster to join: start the initial peers first", n.cfg.NodeID, asked)
		}
		if clusterID != "" {
			n.id.ControllerMember, n.id.ClusterID = controllerMemberJoining, clusterID
			n.log.Info("a peer knows this cluster: joining the controller shard as a new replica",
				"cluster_id", clusterID, "fresh_data_dir", fresh)
		} else {
			n.id.ControllerMember = controllerMemberInitial
			if len(n.cfg.Peers) > 1 && asked == 0 {
				n.log.Warn("no peer Kafka address to ask whether the cluster exists: starting as an initial member of the controller shard; if this data dir was wiped, that is unsafe (docs/operations.md)")
			}
		}
		if err := saveIdentity(n.cfg.DataDir, n.id); err != nil {
			return err
		}
	}
	switch n.id.ControllerMember {
	case controllerMemberLegacy, controllerMemberInitial:
		return n.startController(controllerReplicaID(n.cfg.NodeID), false)
	case controllerMemberJoined:
		return n.startController(n.id.ControllerReplicaID, true)
	case controllerMemberJoining:
		return nil // the loop asks to be added (tryJoin)
	default:
		panic(fmt.Sprintf("invariant violated: controller membership decided: %q", n.id.ControllerMember))
	}
}

// startController starts this node's controller replica: an initial
// member with the peers as the initial membership, or a joiner.
func (n *Node) startController(replicaID uint64, join bool) error {
	var members map[uint64]dragonboat.Target
	if !join {
		members = map[uint64]dragonboat.Target{}
		for pid, addr := range n.cfg.Peers {
			members[controllerReplicaID(pid)] = addr
		}
	}
	create := func(shardID, _ uint64) sm.IOnDiskStateMachine {
		return newWholeSM(shardID, n.db, func() wholeState { return newControllerState(n.cfg.Controller) })
	}
	cfg := shardConfig(uint64(controller.ControllerShardID), replicaID, n.cfg.Timing)
	// A broker that is not an initial peer was added as a non-voting
	// replica (answerJoin), and dragonboat must be told so at every start.
	_, peer := n.cfg.Peers[n.cfg.NodeID]
	cfg.IsNonVoting = !peer
	if err := n.nh.StartOnDiskReplica(members, join, create, cfg); err != nil {
		return fmt.Errorf("start controller replica: %w", err)
	}
	n.ctrlReplica.Store(replicaID)
	return nil
}

// joinAddrs lists the Kafka addresses to ask, other brokers only, by id.
func (n *Node) joinAddrs() []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(n.cfg.PeerKafkaAddrs)) {
		if id != n.cfg.NodeID {
			out = append(out, n.cfg.PeerKafkaAddrs[id])
		}
	}
	return out
}

// probePeers asks every peer in parallel whether it belongs to a cluster
// and returns the first cluster id named (by peer order), "" if none, and
// how many peers were asked.
func (n *Node) probePeers() (clusterID string, asked int) {
	addrs := n.joinAddrs()
	answers := make([]string, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A refused connection means the peer is not running: nothing
			// to learn there. A timeout may be a running peer that is slow
			// (a busy host), whose answer matters, so it is asked again.
			for attempt := 1; attempt <= joinProbeAttempts; attempt++ {
				ctx, cancel := context.WithTimeout(n.ctx, joinProbeTimeoutMs*time.Millisecond)
				b, err := askPeer(ctx, addr, encodeProbeRequest())
				cancel()
				if err == nil {
					if a, err := decodeProbeAnswer(b); err == nil {
						answers[i] = a.ClusterID
					}
					return
				}
				n.log.Debug("probe peer", "addr", addr, "attempt", attempt, "err", err)
				if !isTimeout(err) && !errors.Is(err, context.DeadlineExceeded) {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range answers {
		if id != "" {
			return id, len(addrs)
		}
	}
	return "", len(addrs)
}

// tryJoin asks the peers (the last known controller leader first) to add
// this broker to the controller shard, and starts the new replica once one
// has. Called by the loop while the node has no controller replica.
func (n *Node) tryJoin() {
	addrs := n.joinAddrs()
	if n.joinHint != "" {
		addrs = append([]string{n.joinHint}, addrs...)
	}
	_, voter := n.cfg.Peers[n.cfg.NodeID]
	req := encodeJoinRequest(joinRequest{BrokerID: n.cfg.NodeID, RaftAddr: n.cfg.RaftAddr, Incarnation: n.id.Incarnation, Voter: voter})
	tried := map[string]bool{}
	var last string
	for i := 0; i < len(addrs); i++ { // a "not leader" answer may append the leader
		addr := addrs[i]
		if tried[addr] {
			continue
		}
		tried[addr] = true
		ctx, cancel := context.WithTimeout(n.ctx, joinRequestTimeoutMs*time.Millisecond)
		b, err := askPeer(ctx, addr, req)
		cancel()
		var a joinAnswer
		if err == nil {
			a, err = decodeJoinAnswer(b)
		}
		if err != nil {
			last = fmt.Sprintf("%s: %v", addr, err)
			continue
		}
		switch a.Code {
		case joinOK:
			n.adoptControllerReplica(a)
			return
		case joinNotLeader:
			if a.LeaderKafkaAddr != "" {
				n.joinHint = a.LeaderKafkaAddr
				addrs = append(addrs, a.LeaderKafkaAddr)
			}
		case joinRejected:
			n.log.Error("join refused", "addr", addr, "reason", a.Reason)
		}
		last = fmt.Sprintf("%s: %s", addr, a.Reason)
	}
	if !n.joinWaitLogged {
		n.log.Warn("waiting to be added to the controller shard (needs a controller leader among the peers)", "last_answer", last)
		n.joinWaitLogged = true
	}
}

// adoptControllerReplica records the replica id a controller member added
// for this broker, then starts it as a joiner. If the record fails the
// replica is not started, and the next round asks again (the answering
// leader then replaces the unused replica).
func (n *Node) adoptControllerReplica(a joinAnswer) {
	id := n.id
	id.ControllerMember, id.ControllerReplicaID = controllerMemberJoined, a.ReplicaID
	if id.ClusterID == "" {
		id.ClusterID = a.ClusterID
	}
	if err := saveIdentity(n.cfg.DataDir, id); err != nil {
		n.log.Error("record the controller replica id", "err", err)
		return
	}
	n.mu.Lock()
	n.id = id
	n.mu.Unlock()
	if err := n.startController(a.ReplicaID, true); err != nil {
		n.log.Error("start the controller replica", "replica", a.ReplicaID, "err", err)
		return
	}
	n.log.Info("joined the controller shard", "replica", a.ReplicaID, "cluster_id", a.ClusterID)
}

// currentIdentity returns a copy of the node's identity (the loop may replace it).
func (n *Node) currentIdentity() identity {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// clusterID is the cluster this data dir belongs to, "" if not known yet.
func (n *Node) clusterID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id.ClusterID
}

// ---- answering ----

// serveJoinRequest answers one side-channel request; nil closes the
// connection without an answer (a malformed request).
func (n *Node) serveJoinRequest(ctx context.Context, body []byte) []byte {
	kind, req, err := decodeJoinWireRequest(body)
	if err != nil {
		n.log.Debug("malformed join request", "err", err)
		return nil
	}
	switch kind {
	case joinKindProbe:
		return encodeProbeAnswer(probeAnswer{ClusterID: n.knownClusterID()})
	case joinKindJoin:
		return encodeJoinAnswer(n.answerJoin(ctx, req))
	case joinKindProgress:
		return encodeProgressAnswer(progressAnswer{BrokerID: n.cfg.NodeID, Replicas: n.localProgress()})
	default:
		panic(fmt.Sprintf("invariant violated: decoded join request kinds handled: %d", kind))
	}
}

// knownClusterID is the controller's cluster id if this node's replica
// has applied the bootstrap, else what the data dir recorded.
func (n *Node) knownClusterID() string {
	if n.ctrlReplica.Load() != 0 {
		var id string
		if n.ReadController(func(c *controller.Controller) { id = c.ClusterID() }) == nil && id != "" {
			return id
		}
	}
	return n.clusterID()
}

// answerJoin replaces the controller replica at the joiner's Raft address
// with a new one. Only the controller leader answers OK; see the comment
// at the top of this file for why the new id is never reused.
func (n *Node) answerJoin(ctx context.Context, req joinRequest) joinAnswer {
	n.joinMu.Lock()
	defer n.joinMu.Unlock()
	shard := uint64(controller.ControllerShardID)
	self := n.ctrlReplica.Load()
	if self == 0 {
		return joinAnswer{Code: joinUnavailable, Reason: "no controller replica here yet"}
	}
	leader, _, ok, err := n.nh.GetLeaderID(shard)
	if err != nil || !ok {
		return joinAnswer{Code: joinUnavailable, Reason: "the controller shard has no leader"}
	}
	v, err := n.viewController()
	if err != nil || !v.bootstrapped {
		return joinAnswer{Code: joinUnavailable, Reason: "the controller has not applied the bootstrap here"}
	}
	if leader != self {
		return joinAnswer{Code: joinNotLeader, Reason: "not the controller leader", LeaderKafkaAddr: n.controllerLeaderKafkaAddr(leader, v)}
	}
	if req.RaftAddr == n.cfg.RaftAddr {
		return joinAnswer{Code: joinRejected, Reason: fmt.Sprintf("raft address %s is the answering broker's own", req.RaftAddr)}
	}
	for _, b := range v.brokers {
		switch {
		case b.Info.ID == req.BrokerID && b.Info.RaftAddr != req.RaftAddr:
			return joinAnswer{Code: joinRejected, Reason: fmt.Sprintf("broker %d is registered with raft address %s, not %s", req.BrokerID, b.Info.RaftAddr, req.RaftAddr)}
		case b.Info.ID != req.BrokerID && b.Info.RaftAddr == req.RaftAddr:
			return joinAnswer{Code: joinRejected, Reason: fmt.Sprintf("raft address %s belongs to broker %d, not %d", req.RaftAddr, b.Info.ID, req.BrokerID)}
		}
	}
	m, err := n.nh.SyncGetShardMembership(ctx, shard)
	if err != nil {
		return joinAnswer{Code: joinUnavailable, Reason: fmt.Sprintf("read the controller membership: %v", err)}
	}
	// Remove, one ordered change at a time, every replica the shard holds at
	// the joiner's address: its wiped replica, or an unused one added for an
	// earlier request whose answer was lost.
	for _, rid := range replicasAt(m, req.RaftAddr) {
		if err := n.nh.SyncRequestDeleteReplica(ctx, shard, rid, m.ConfigChangeID); err != nil {
			return joinAnswer{Code: joinUnavailable, Reason: fmt.Sprintf("remove controller replica %d: %v", rid, err)}
		}
		n.log.Info("membership: remove replica", "shard", shard, "replica", rid, "broker", req.BrokerID, "reason", "broker rejoins with a new data dir")
		if m, err = n.nh.SyncGetShardMembership(ctx, shard); err != nil {
			return joinAnswer{Code: joinUnavailable, Reason: fmt.Sprintf("read the controller membership: %v", err)}
		}
	}
	newID := maxReplicaIDEver(m) + 1
	if req.Voter {
		err = n.nh.SyncRequestAddReplica(ctx, shard, newID, req.RaftAddr, m.ConfigChangeID)
	} else {
		err = n.nh.SyncRequestAddNonVoting(ctx, shard, newID, req.RaftAddr, m.ConfigChangeID)
	}
	if err != nil {
		return joinAnswer{Code: joinUnavailable, Reason: fmt.Sprintf("add controller replica %d: %v", newID, err)}
	}
	n.log.Info("membership: add replica", "shard", shard, "replica", newID, "broker", req.BrokerID,
		"voting", req.Voter, "incarnation", fmt.Sprintf("%016x", req.Incarnation))
	return joinAnswer{Code: joinOK, ClusterID: v.clusterID, ReplicaID: newID}
}

// replicasAt lists, sorted, the replicas of any kind at a Raft address.
func replicasAt(m *dragonboat.Membership, addr string) []uint64 {
	var out []uint64
	for _, set := range []map[uint64]string{m.Nodes, m.NonVotings, m.Witnesses} {
		for rid, a := range set {
			if a == addr {
				out = append(out, rid)
			}
		}
	}
	slices.Sort(out)
	return out
}

// maxReplicaIDEver is the largest replica id the membership has ever held:
// dragonboat keeps removed ids in Removed for the shard's life (and in its
// snapshots), and refuses to add one again.
func maxReplicaIDEver(m *dragonboat.Membership) uint64 {
	var top uint64
	for _, set := range []map[uint64]string{m.Nodes, m.NonVotings, m.Witnesses} {
		for rid := range set {
			top = max(top, rid)
		}
	}
	for rid := range m.Removed {
		top = max(top, rid)
	}
	return top
}

// controllerLeaderBroker maps a controller replica id to its broker through
// the replica's Raft address in this node's view of the shard membership.
// -1 if unknown.
func (n *Node) controllerLeaderBroker(leader uint64, v controllerView) int32 {
	for _, si := range n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true}).ShardInfoList {
		if si.ShardID != uint64(controller.ControllerShardID) {
			continue
		}
		addr, ok := si.Replicas[leader]
		if !ok {
			return -1
		}
		for _, b := range v.brokers {
			if b.Info.RaftAddr == addr {
				return b.Info.ID
			}
		}
	}
	return -1
}

func (n *Node) controllerLeaderKafkaAddr(leader uint64, v controllerView) string {
	id := n.controllerLeaderBroker(leader, v)
	for _, b := range v.brokers {
		if b.Info.ID == id {
			return b.Info.KafkaAddr
		}
	}
	return ""
}

// ControllerLeader returns the broker id of the controller shard's leader
// as this node sees it, or -1 if there is none or it is not known. Unlike
// "replica id - 1", it stays right after a wiped broker rejoined under a
// new controller replica id.
func (n *Node) ControllerLeader() int32 {
	leader, _, ok, err := n.nh.GetLeaderID(uint64(controller.ControllerShardID))
	if err != nil || !ok || leader == 0 {
		return -1
	}
	v, err := n.viewController()
	if err != nil {
		return -1
	}
	return n.controllerLeaderBroker(leader, v)
}
