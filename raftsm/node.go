package raftsm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/raftio"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	"github.com/tidemark/tidemark/core/partition"
)

// NodeConfig is what one broker needs to join the Raft side of a cluster.
type NodeConfig struct {
	NodeID    int32  // the Kafka broker id, >= 0
	DataDir   string // holds identity.json, raft/ (dragonboat) and state/ (pebble)
	RaftAddr  string // host:port for Raft traffic; peers dial it
	KafkaAddr string // host:port advertised to Kafka clients
	Rack      string
	// Peers are the initial members, broker id -> Raft address, this node
	// included unless it is a broker added to a running cluster (join.go).
	// Every peer hosts a voting replica of the controller shard.
	Peers map[int32]string
	// PeerKafkaAddrs are Kafka addresses of brokers to ask, at the first
	// start of a data dir, whether the cluster already exists, and then to
	// add this broker to the controller shard (join.go). A broker id
	// missing here is not asked; with none, a fresh data dir always starts
	// as an initial member (unsafe after a wipe: docs/operations.md).
	PeerKafkaAddrs map[int32]string
	// GroupShardCount is fixed when the cluster bootstraps.
	GroupShardCount int32

	Timing     RaftTiming
	Controller controller.Config
	Partition  partition.Config
	Group      group.Config

	// ReconcileIntervalMs is how often the node compares its replicas with
	// the controller's assignment (and retries registration, bootstrap,
	// membership changes and leader placement).
	ReconcileIntervalMs int64
	// RetentionCheckIntervalMs is how often a partition leader proposes a
	// retention pass (Kafka's log.retention.check.interval.ms).
	RetentionCheckIntervalMs int64
	// GroupTickIntervalMs is how often a group shard's leader proposes a
	// Tick, which expires sessions and completes timed-out rebalances; it
	// bounds how late a timeout fires.
	GroupTickIntervalMs int64
	// LeaderTransferBackoffMs spaces leader-placement attempts per shard.
	LeaderTransferBackoffMs int64

	Log *slog.Logger // nil: slog.Default()

	// onLeaderHook, when set (tests), sees every leader change reported by
	// this node's dragonboat, on dragonboat's goroutine.
	onLeaderHook func(raftio.LeaderInfo)
	// onTransferHook, when set (tests), sees every leader transfer this
	// node requests: the shard and the target broker.
	onTransferHook func(shardID uint64, toBroker int32)
	// isrTiming, when set (tests), replaces the ISR tracker's default
	// timing (isr.go).
	isrTiming *isrConfig
}

// DefaultNodeConfig is a single-node broker on the embedded defaults.
func DefaultNodeConfig() NodeConfig {
	return NodeConfig{
		NodeID: 1, DataDir: "./data", RaftAddr: "127.0.0.1:9093", KafkaAddr: "127.0.0.1:9092",
		GroupShardCount: 16, Timing: DefaultRaftTiming(),
		Controller: controller.DefaultConfig(), Partition: partition.DefaultConfig(), Group: group.DefaultConfig(),
		ReconcileIntervalMs: 200, RetentionCheckIntervalMs: 30_000, GroupTickIntervalMs: 100,
		LeaderTransferBackoffMs: 5_000,
	}
}

// Validate reports the first problem with the configuration, as one line.
func (c NodeConfig) Validate() error {
	switch {
	case c.NodeID < 0:
		return fmt.Errorf("node id %d is negative", c.NodeID)
	case c.DataDir == "":
		return errors.New("data dir is empty")
	case c.RaftAddr == "":
		return errors.New("raft address is empty")
	case c.KafkaAddr == "":
		return errors.New("kafka address is empty")
	case len(c.Peers) == 0:
		return errors.New("no peers: list at least this node")
	case c.GroupShardCount <= 0:
		return fmt.Errorf("group shard count %d must be positive", c.GroupShardCount)
	case c.ReconcileIntervalMs <= 0 || c.RetentionCheckIntervalMs <= 0 || c.GroupTickIntervalMs <= 0:
		return errors.New("reconcile, retention-check and group-tick intervals must be positive")
	}
	// A broker that is not an initial peer joins an existing cluster
	// through the peers' Kafka addresses (join.go).
	addr, ok := c.Peers[c.NodeID]
	if !ok && len(c.PeerKafkaAddrs) == 0 {
		return fmt.Errorf("peer list does not contain this node (%d), and gives no peer Kafka address to join through", c.NodeID)
	}
	if ok && addr != c.RaftAddr {
		return fmt.Errorf("peer list gives node %d the raft address %s, but it listens on %s", c.NodeID, addr, c.RaftAddr)
	}
	for id := range c.Peers {
		if id < 0 {
			return fmt.Errorf("peer id %d is negative", id)
		}
	}
	for id, addr := range c.PeerKafkaAddrs {
		if id < 0 || addr == "" {
			return fmt.Errorf("peer %d: bad kafka address %q", id, addr)
		}
	}
	if err := c.Controller.Validate(); err != nil {
		return fmt.Errorf("controller config: %w", err)
	}
	if err := c.Group.Validate(); err != nil {
		return fmt.Errorf("group config: %w", err)
	}
	return nil
}

// controllerReplicaID is the controller replica id of an initial member:
// broker id + 1 (dragonboat replica ids must be positive and Kafka broker
// ids start at 0). A replica added later by a membership change (a wiped
// broker's replacement, join.go) gets an id above every id the shard ever
// had, so the two schemes never collide.
func controllerReplicaID(brokerID int32) uint64 { return uint64(brokerID) + 1 }

// Node is one broker's Raft side: a dragonboat NodeHost hosting this
// broker's replica of the controller shard and of every partition and group
// shard the controller assigns to it, over one pebble state DB.
//
// A background loop keeps it in step with the controller: on a data dir new
// to a running cluster it first asks to be added to the controller shard
// (join.go); it bootstraps the cluster (the lowest peer id does), registers
// this broker, starts and stops
// local replicas to match the assignment, replaces members whose broker was
// wiped, moves leadership to each shard's preferred leader, and proposes the
// periodic commands (retention passes, group ticks) for the shards it leads,
// stamped with its clock.
type Node struct {
	cfg NodeConfig
	log *slog.Logger
	id  identity // written by StartNode, then by the loop under mu; others read it under mu (currentIdentity)
	db  *stateDB
	nh  *dragonboat.NodeHost
	ev  *events
	// groups routes the answers owed to parked JoinGroup and SyncGroup
	// requests, produced as group-shard entries apply, to the requests
	// waiting at this broker (kafka_groups.go).
	groups *GroupCompletions
	// isr tracks which replicas are in sync, from the applied indexes the
	// node polls from its peers (isr.go); isrDone is closed when its
	// polling loop has ended.
	isr     *isrTracker
	isrDone chan struct{}

	mu       sync.Mutex
	replicas map[uint64]*localReplica // running local replicas of data shards, by shard id
	// ctrlReplica is this node's controller replica id once it runs; 0
	// while the node waits to be added to the controller shard.
	ctrlReplica atomic.Uint64
	// joinMu serialises the join requests this node answers.
	joinMu sync.Mutex

	// Touched by the background loop only.
	bootstrapClusterID    string // drawn once per process by the bootstrapping broker, kept for retries
	savedClusterID        bool   // identity.json holds the controller's cluster id
	clusterMismatchLogged bool
	joinHint              string // the controller leader's Kafka address, from the last "not leader" answer
	joinWaitLogged        bool
	lastMove              map[uint64]time.Time // last leader transfer attempt, by shard id
	leaderSince           map[uint64]time.Time // when this node last became each shard's leader, for shards it leads

	// ctx is cancelled by Close, ending the loop's in-flight proposals.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// localReplica is a running replica of a partition or group shard.
type localReplica struct {
	info      controller.ShardInfo
	replicaID uint64
	part      *partitionSM // partition shards only
}

// StartNode opens the data dir, starts dragonboat and the controller
// replica, and starts the background loop. It returns once the node is
// running; the cluster may still be electing leaders.
func StartNode(cfg NodeConfig) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	id, fresh, err := loadIdentity(cfg.DataDir, cfg.NodeID, cfg.Peers)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Log.With("node", cfg.NodeID), id: id, groups: NewGroupCompletions(),
		replicas: map[uint64]*localReplica{}, lastMove: map[uint64]time.Time{}, leaderSince: map[uint64]time.Time{}, done: make(chan struct{})}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if n.db, err = openStateDB(filepath.Join(cfg.DataDir, "state")); err != nil {
		return nil, err
	}
	n.ev = &events{onLeader: n.onLeader}
	sizeReplicaQueues()
	if n.nh, err = newNodeHost(cfg.DataDir, cfg.RaftAddr, cfg.Timing, n.ev, id.layout()); err != nil {
		n.db.close()
		return nil, err
	}
	if err := n.startControllerAtBoot(fresh); err != nil {
		n.nh.Close()
		n.db.close()
		return nil, err
	}
	n.log.Info("node started", "data_dir", cfg.DataDir, "raft_addr", cfg.RaftAddr, "kafka_addr", cfg.KafkaAddr,
		"peers", len(cfg.Peers), "fresh_data_dir", fresh, "incarnation", fmt.Sprintf("%016x", id.Incarnation),
		"controller_member", n.id.ControllerMember, "controller_replica", n.ctrlReplica.Load())
	go n.run()
	isrCfg := defaultISRConfig()
	if cfg.isrTiming != nil {
		isrCfg = *cfg.isrTiming
	}
	n.isr, n.isrDone = newISRTracker(isrCfg), make(chan struct{})
	go n.pollProgress()
	return n, nil
}

// Close stops the background loop and dragonboat (which stops every local
// replica) and closes the state DB after syncing it.
func (n *Node) Close() error {
	n.cancel()
	<-n.done
	<-n.isrDone
	n.nh.Close()
	err := n.db.sync()
	if cerr := n.db.close(); err == nil {
		err = cerr
	}
	n.log.Info("node stopped")
	return err
}

func (n *Node) onLeader(info raftio.LeaderInfo) {
	if n.cfg.onLeaderHook != nil {
		n.cfg.onLeaderHook(info)
	}
	if info.LeaderID == 0 {
		return
	}
	n.mu.Lock()
	if info.LeaderID == info.ReplicaID {
		n.leaderSince[info.ShardID] = time.Now()
	} else {
		delete(n.leaderSince, info.ShardID)
	}
	n.mu.Unlock()
	n.log.Info("leader changed", "shard", info.ShardID, "term", info.Term, "leader_replica", info.LeaderID,
		"local_replica", info.ReplicaID, "local_is_leader", info.LeaderID == info.ReplicaID)
}

// ---- proposals and reads ----

// NotLeaderError answers a proposal made at a replica that is not the
// shard's leader. LeaderBroker is the leader's broker id, or -1 if unknown.
type NotLeaderError struct {
	ShardID      uint64
	LeaderBroker int32
}

func (e *NotLeaderError) Error() string {
	return fmt.Sprintf("shard %d: not the leader (leader broker %d)", e.ShardID, e.LeaderBroker)
}

// ErrNoReplica is returned for a shard with no local replica.
var ErrNoReplica = errors.New("raftsm: no local replica of the shard")

// Propose submits an encoded command to a data shard this node leads and
// waits until it is committed and applied, returning the encoded result.
// The command is committed by a quorum (each member fsyncs its Raft log
// before acknowledging) before the result is returned.
func (n *Node) Propose(ctx context.Context, shardID uint64, cmd []byte) ([]byte, error) {
	if err := n.mustLead(shardID); err != nil {
		return nil, err
	}
	return n.propose(ctx, shardID, cmd)
}

// ProposeController submits a command to the controller shard from any
// peer (dragonboat forwards it to the leader).
func (n *Node) ProposeController(ctx context.Context, cmd controller.Command) (controller.Result, error) {
	b, err := n.propose(ctx, uint64(controller.ControllerShardID), controller.EncodeCommand(cmd))
	if err != nil {
		return nil, err
	}
	return controller.DecodeResult(b)
}

func (n *Node) propose(ctx context.Context, shardID uint64, cmd []byte) ([]byte, error) {
	res, err := n.nh.SyncPropose(ctx, n.nh.GetNoOPSession(shardID), cmd)
	if err != nil {
		return nil, fmt.Errorf("propose to shard %d: %w", shardID, err)
	}
	return resultData(res)
}

// mustLead returns nil if this node leads shardID, a *NotLeaderError if
// another replica does or none is known, ErrNoReplica if there is no local
// replica.
func (n *Node) mustLead(shardID uint64) error {
	n.mu.Lock()
	r, ok := n.replicas[shardID]
	var replicaID uint64
	var replicas []controller.Replica // replaced whole by the loop, never changed in place
	if ok {
		replicaID, replicas = r.replicaID, r.info.Replicas
	}
	n.mu.Unlock()
	if !ok {
		return ErrNoReplica
	}
	leader, _, valid, err := n.nh.GetLeaderID(shardID)
	if err == nil && valid && leader == replicaID {
		return nil
	}
	broker := int32(-1)
	if err == nil && valid {
		for _, rep := range replicas {
			if uint64(rep.ReplicaID) == leader {
				broker = rep.BrokerID
			}
		}
	}
	return &NotLeaderError{ShardID: shardID, LeaderBroker: broker}
}

// ReadController runs f against this node's applied controller state (a
// local read: it may lag the leader). f must not keep references into it.
func (n *Node) ReadController(f func(*controller.Controller)) error {
	_, err := n.nh.StaleRead(uint64(controller.ControllerShardID), func(s wholeState) (any, error) {
		f(s.(*controllerState).c)
		return nil, nil
	})
	return err
}

// ReadPartition runs f against the local replica's applied log and returns
// a channel that is closed when the next entry applies, for long polls.
func (n *Node) ReadPartition(shardID uint64, f func(*partition.Log)) (<-chan struct{}, error) {
	n.mu.Lock()
	r, ok := n.replicas[shardID]
	n.mu.Unlock()
	if !ok || r.part == nil {
		return nil, ErrNoReplica
	}
	changed := r.part.waitChan()
	_, err := n.nh.StaleRead(shardID, func(l *partition.Log) (any, error) { f(l); return nil, nil })
	return changed, err
}

// LocalShards lists the data shards with a running local replica, sorted.
func (n *Node) LocalShards() []uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]uint64, 0, len(n.replicas))
	for id := range n.replicas {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ---- the background loop ----

func (n *Node) run() {
	defer close(n.done)
	reconcile := time.NewTicker(time.Duration(n.cfg.ReconcileIntervalMs) * time.Millisecond)
	retention := time.NewTicker(time.Duration(n.cfg.RetentionCheckIntervalMs) * time.Millisecond)
	tick := time.NewTicker(time.Duration(n.cfg.GroupTickIntervalMs) * time.Millisecond)
	defer reconcile.Stop()
	defer retention.Stop()
	defer tick.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-reconcile.C:
			if n.ctrlReplica.Load() == 0 {
				n.tryJoin()
				continue
			}
			n.reconcile()
		case <-retention.C:
			n.proposeRetention()
		case <-tick.C:
			n.proposeGroupTicks()
		}
	}
}

// loopCtx bounds one proposal of the background loop; Close cancels it.
func (n *Node) loopCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(n.ctx, 5*time.Second)
}

// controllerView is a copy of what the loop needs from the controller.
type controllerView struct {
	bootstrapped bool
	clusterID    string
	self         controller.BrokerState
	registered   bool
	shards       []controller.ShardInfo
	brokers      []controller.BrokerState
	topics       map[string]controller.LogSettings
}

func (n *Node) viewController() (controllerView, error) {
	var v controllerView
	err := n.ReadController(func(c *controller.Controller) {
		v.bootstrapped = c.Bootstrapped()
		v.clusterID = c.ClusterID()
		v.self, v.registered = c.Broker(n.cfg.NodeID)
		v.shards = c.Shards()
		v.brokers = c.Brokers()
		v.topics = map[string]controller.LogSettings{}
		for _, t := range c.Topics() {
			v.topics[t.Name] = controller.LogSettingsOf(t.Configs)
		}
	})
	return v, err
}

func (n *Node) reconcile() {
	v, err := n.viewController()
	if err != nil {
		return // the controller replica is not ready yet
	}
	if _, _, ok, err := n.nh.GetLeaderID(uint64(controller.ControllerShardID)); err != nil || !ok {
		return // a proposal now would wait out its timeout: no controller leader yet
	}
	if !v.bootstrapped {
		n.maybeBootstrap()
		return
	}
	if !n.sameCluster(v.clusterID) {
		return // logged: this broker takes no part in a cluster that is not its data dir's
	}
	me := controller.BrokerInfo{ID: n.cfg.NodeID, KafkaAddr: n.cfg.KafkaAddr, RaftAddr: n.cfg.RaftAddr,
		Rack: n.cfg.Rack, Incarnation: n.id.Incarnation}
	if !v.registered || v.self.Info != me {
		n.register(me)
		return // start replicas only once the registration has applied
	}
	n.startAndStopReplicas(v)
	n.fixMembership(v)
	n.placeLeaders(v)
}

// maybeBootstrap: the lowest peer id bootstraps the cluster, listing every
// peer by id and Raft address (their incarnations are unknown to it; each
// registers itself). A retry proposes the same command, which the
// controller accepts as idempotent, so the cluster id is drawn once per
// process and kept (bootstrapClusterID). Only the controller's answer is
// recorded in the data dir (sameCluster).
func (n *Node) maybeBootstrap() {
	if n.clusterID() != "" {
		return // the data dir has seen this cluster bootstrapped: the controller replica is catching up
	}
	ids := make([]int32, 0, len(n.cfg.Peers))
	for id := range n.cfg.Peers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if ids[0] != n.cfg.NodeID {
		return
	}
	if n.bootstrapClusterID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			n.log.Error("draw a cluster id", "err", err)
			return
		}
		n.bootstrapClusterID = hex.EncodeToString(b[:])
	}
	brokers := make([]controller.BrokerInfo, 0, len(ids))
	for _, id := range ids {
		brokers = append(brokers, controller.BrokerInfo{ID: id, RaftAddr: n.cfg.Peers[id]})
	}
	rf := int32(len(ids))
	if rf > 3 {
		rf = 3
	}
	ctx, cancel := n.loopCtx()
	defer cancel()
	res, err := n.ProposeController(ctx, controller.Bootstrap{ClusterID: n.bootstrapClusterID, NowMs: time.Now().UnixMilli(),
		GroupShardCount: n.cfg.GroupShardCount, GroupReplicationFactor: rf, Brokers: brokers})
	if err != nil {
		return // no controller leader yet: retried next round
	}
	if e := controller.ResultErr(res); e != nil {
		n.log.Error("bootstrap rejected", "err", e)
		return
	}
	n.log.Info("cluster bootstrapped", "cluster_id", n.bootstrapClusterID, "brokers", len(ids), "group_shards", n.cfg.GroupShardCount)
}

// sameCluster records the cluster id in the data dir the first time the
// node sees its cluster bootstrapped, and afterwards reports whether the
// controller still names the same cluster. A mismatch means raft/ and
// identity.json come from different clusters; the node then registers
// nothing and starts no replica.
func (n *Node) sameCluster(clusterID string) bool {
	switch n.id.ClusterID {
	case clusterID:
		if n.savedClusterID {
			return true
		}
	case "":
		n.mu.Lock()
		n.id.ClusterID = clusterID
		n.mu.Unlock()
	default:
		if !n.clusterMismatchLogged {
			n.log.Error("data dir belongs to another cluster: taking no part", "data_dir_cluster", n.id.ClusterID, "controller_cluster", clusterID)
			n.clusterMismatchLogged = true
		}
		return false
	}
	if err := saveIdentity(n.cfg.DataDir, n.id); err != nil {
		n.log.Error("record the cluster id in the data dir", "err", err)
		return false
	}
	n.savedClusterID = true
	return true
}

func (n *Node) register(me controller.BrokerInfo) {
	ctx, cancel := n.loopCtx()
	defer cancel()
	res, err := n.ProposeController(ctx, controller.RegisterBroker{Broker: me, NowMs: time.Now().UnixMilli()})
	if err != nil {
		return
	}
	if e := controller.ResultErr(res); e != nil {
		n.log.Error("registration rejected", "err", e)
		return
	}
	if r, ok := res.(controller.RegisterBrokerResult); ok && len(r.Replacements) > 0 {
		n.log.Info("registered as a new incarnation: replicas get new ids", "replacements", len(r.Replacements))
	} else {
		n.log.Info("registered", "kafka_addr", me.KafkaAddr)
	}
}

// startAndStopReplicas makes the set of running local replicas match the
// controller's assignment to this broker.
func (n *Node) startAndStopReplicas(v controllerView) {
	want := map[uint64]controller.ShardInfo{}
	for _, s := range v.shards {
		for _, r := range s.Replicas {
			if r.BrokerID == n.cfg.NodeID {
				want[uint64(s.ID)] = s
			}
		}
	}
	addrs := map[int32]string{}
	for _, b := range v.brokers {
		addrs[b.Info.ID] = b.Info.RaftAddr
	}
	ids := make([]uint64, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		n.mu.Lock()
		r, running := n.replicas[id]
		n.mu.Unlock()
		s := want[id]
		rid := localReplicaID(s, n.cfg.NodeID)
		if running && r.replicaID == rid {
			n.mu.Lock()
			r.info = s // membership may have changed
			n.mu.Unlock()
			continue
		}
		if running { // our replica was replaced (this broker was wiped while the shard ran): restart under the new id
			n.stopReplica(id, false)
		}
		n.startReplica(s, rid, addrs)
	}
	for _, id := range n.LocalShards() {
		if _, ok := want[id]; !ok {
			n.stopReplica(id, true)
		}
	}
}

func localReplicaID(s controller.ShardInfo, broker int32) uint64 {
	for _, r := range s.Replicas {
		if r.BrokerID == broker {
			return uint64(r.ReplicaID)
		}
	}
	return 0
}

// startReplica starts a local replica of s. A replica listed in the shard's
// initial membership starts with that membership; any other (a replacement)
// starts as a joiner, added by the leader's membership change.
func (n *Node) startReplica(s controller.ShardInfo, replicaID uint64, addrs map[int32]string) {
	initial := map[uint64]dragonboat.Target{}
	join := true
	for _, r := range s.InitialReplicas {
		initial[uint64(r.ReplicaID)] = addrs[r.BrokerID]
		if uint64(r.ReplicaID) == replicaID {
			join = false
		}
	}
	if join {
		initial = nil
	}
	lr := &localReplica{info: s, replicaID: replicaID}
	shardID := uint64(s.ID)
	var create sm.CreateOnDiskStateMachineFunc
	switch s.Kind {
	case controller.ShardPartition:
		lr.part = newPartitionSM(shardID, n.db, n.cfg.Partition)
		create = func(uint64, uint64) sm.IOnDiskStateMachine { return lr.part }
	case controller.ShardGroup:
		hook := func(cs []group.Completion) { n.groups.Deliver(shardID, cs) }
		create = func(uint64, uint64) sm.IOnDiskStateMachine {
			return newWholeSM(shardID, n.db, func() wholeState { return newGroupState(n.cfg.Group, hook) })
		}
	default:
		panic(fmt.Sprintf("invariant violated: shard kinds known: shard %d has kind %d", s.ID, s.Kind))
	}
	cfg := shardConfig(shardID, replicaID, n.cfg.Timing)
	// An idle partition stops ticking and heartbeating (dragonboat's
	// quiesce, after 20 election timeouts without traffic): at 1,000
	// partitions the heartbeats alone kept 3 brokers' 2 cores busy. A
	// quiesced follower no longer notices its leader's death, so the ISR
	// tracker wakes the replicas led from a broker it cannot reach
	// (wakeReplicas). The controller and group shards are few and
	// keep heartbeating.
	cfg.Quiesce = s.Kind == controller.ShardPartition
	if err := n.nh.StartOnDiskReplica(initial, join, create, cfg); err != nil {
		if !errors.Is(err, dragonboat.ErrShardAlreadyExist) {
			n.log.Error("start replica", "shard", shardID, "replica", replicaID, "err", err)
			return
		}
	}
	n.mu.Lock()
	n.replicas[shardID] = lr
	n.mu.Unlock()
	n.log.Info("replica started", "shard", shardID, "replica", replicaID, "kind", kindName(s.Kind),
		"topic", s.Topic, "partition", s.Partition, "joining", join)
}

// stopReplica stops a local replica; removeData also deletes its Raft log
// and state (the shard is no longer assigned here: topic deleted). The
// replica leaves n.replicas only when all of that is done, so "not a local
// shard" means stopped and, with removeData, gone from disk.
func (n *Node) stopReplica(shardID uint64, removeData bool) {
	n.mu.Lock()
	r, ok := n.replicas[shardID]
	n.mu.Unlock()
	if !ok {
		return
	}
	if err := n.nh.StopShard(shardID); err != nil && !errors.Is(err, dragonboat.ErrShardNotFound) {
		n.log.Error("stop replica", "shard", shardID, "err", err)
	}
	if removeData {
		// SyncRemoveData waits until dragonboat has unloaded the replica, so
		// no Update can write the state back after removeShard.
		ctx, cancel := n.loopCtx()
		err := n.nh.SyncRemoveData(ctx, shardID, r.replicaID)
		cancel()
		if err != nil {
			n.log.Error("remove raft data", "shard", shardID, "err", err)
		}
		if err := n.db.removeShard(shardID); err != nil {
			n.log.Error("remove state", "shard", shardID, "err", err)
		}
	}
	n.mu.Lock()
	delete(n.replicas, shardID)
	n.mu.Unlock()
	n.log.Info("replica stopped", "shard", shardID, "replica", r.replicaID, "removed_data", removeData)
}

// fixMembership: on shards this node leads, make the Raft membership match
// the controller's (a wiped broker's old replica is removed, its new one
// added). dragonboat's local view of every shard is one cheap read; only a
// shard whose view differs from the controller's gets the linearizable
// membership read and a change. One change per shard per round;
// OrderedConfigChange makes a stale change fail rather than apply twice.
func (n *Node) fixMembership(v controllerView) {
	local := map[uint64]dragonboat.ShardInfo{}
	for _, si := range n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true}).ShardInfoList {
		local[si.ShardID] = si
	}
	addrs := map[int32]string{}
	for _, b := range v.brokers {
		addrs[b.Info.ID] = b.Info.RaftAddr
	}
	for _, s := range v.shards {
		shardID := uint64(s.ID)
		si, ok := local[shardID]
		// dragonboat's ShardInfo.IsLeader is never set (checked at the
		// pinned version): leadership is LeaderID == ReplicaID.
		if !ok || si.LeaderID == 0 || si.LeaderID != si.ReplicaID || si.Pending || sameMembers(si.Replicas, s.Replicas) {
			continue
		}
		ctx, cancel := n.loopCtx()
		m, err := n.nh.SyncGetShardMembership(ctx, shardID)
		if err != nil {
			cancel()
			continue
		}
		desired := map[uint64]int32{}
		for _, r := range s.Replicas {
			desired[uint64(r.ReplicaID)] = r.BrokerID
		}
		changed := false
		for rid := range m.Nodes {
			if _, ok := desired[rid]; !ok && !changed {
				err, changed = n.nh.SyncRequestDeleteReplica(ctx, shardID, rid, m.ConfigChangeID), true
				n.log.Info("membership: remove replica", "shard", shardID, "replica", rid, "err", err)
			}
		}
		for _, r := range s.Replicas {
			rid := uint64(r.ReplicaID)
			if _, ok := m.Nodes[rid]; !ok && !changed {
				err, changed = n.nh.SyncRequestAddReplica(ctx, shardID, rid, addrs[r.BrokerID], m.ConfigChangeID), true
				n.log.Info("membership: add replica", "shard", shardID, "replica", rid, "broker", r.BrokerID, "err", err)
			}
		}
		cancel()
	}
}

// sameMembers reports whether dragonboat's voting members are exactly the
// controller's replicas.
func sameMembers(members map[uint64]string, replicas []controller.Replica) bool {
	if len(members) != len(replicas) {
		return false
	}
	for _, r := range replicas {
		if _, ok := members[uint64(r.ReplicaID)]; !ok {
			return false
		}
	}
	return true
}

// placeLeaders: for shards this node leads whose preferred leader (the
// first replica) is another broker, ask dragonboat to transfer leadership,
// at most once per LeaderTransferBackoffMs per shard.
//
// While a transfer is pending the leader drops every proposal, until the
// target takes over or an election timeout passes. So a partition's
// leadership goes only to a replica the ISR tracker saw alive and caught
// up in a round held after this node became the leader: right after a
// failover the preferred leader is usually the broker that just died, and
// each attempt to hand it the shard would be an outage of its own
// (docs/benchmarks/README.md, leader failover). A partition of a new
// topic, which no round has seen yet, and a group shard, which the
// tracker does not follow, are transferred without that check.
func (n *Node) placeLeaders(v controllerView) {
	now := time.Now()
	for _, s := range v.shards {
		shardID := uint64(s.ID)
		if len(s.Replicas) == 0 || s.Replicas[0].BrokerID == n.cfg.NodeID || n.mustLead(shardID) != nil {
			continue
		}
		n.mu.Lock()
		last, since := n.lastMove[shardID], n.leaderSince[shardID]
		n.mu.Unlock()
		if now.Sub(last) < time.Duration(n.cfg.LeaderTransferBackoffMs)*time.Millisecond {
			continue
		}
		if ok, known := n.isr.caughtUpInLatestRound(shardID, uint64(s.Replicas[0].ReplicaID), since.UnixMilli()); known && !ok {
			continue
		}
		n.mu.Lock()
		n.lastMove[shardID] = now
		n.mu.Unlock()
		if n.cfg.onTransferHook != nil {
			n.cfg.onTransferHook(shardID, s.Replicas[0].BrokerID)
		}
		if err := n.nh.RequestLeaderTransfer(shardID, uint64(s.Replicas[0].ReplicaID)); err == nil {
			n.log.Info("leader transfer requested", "shard", shardID, "to_broker", s.Replicas[0].BrokerID)
		}
	}
}

// proposeRetention proposes a retention pass, stamped with this node's
// clock and the topic's current settings, to each partition it leads where
// the pass would delete or expire something. Asking the local state first
// keeps a pass over many idle partitions from costing a Raft entry (an
// fsync on every replica) each; the entry, when proposed, decides anew.
func (n *Node) proposeRetention() {
	v, err := n.viewController()
	if err != nil {
		return
	}
	for _, s := range v.shards {
		settings, ok := v.topics[s.Topic]
		if s.Kind != controller.ShardPartition || !ok || n.mustLead(uint64(s.ID)) != nil {
			continue
		}
		cmd := partition.Retain{NowMs: time.Now().UnixMilli(), RetentionMs: settings.RetentionMs, RetentionBytes: settings.RetentionBytes}
		due, err := n.nh.StaleRead(uint64(s.ID), func(l *partition.Log) (any, error) { return l.RetainDue(cmd) })
		if err != nil || !due.(bool) {
			continue
		}
		ctx, cancel := n.loopCtx()
		b, err := n.propose(ctx, uint64(s.ID), partition.EncodeCommand(cmd))
		cancel()
		if err != nil {
			continue
		}
		if res, err := partition.DecodeResult(b); err == nil {
			if r, ok := res.(partition.RetainResult); ok && r.DeletedBatches > 0 {
				n.log.Info("retention", "topic", s.Topic, "partition", s.Partition, "deleted_batches", r.DeletedBatches,
					"deleted_bytes", r.DeletedBytes, "log_start_offset", r.LogStartOffset)
			}
		}
	}
}

// proposeGroupTicks proposes a Tick to each group shard this node leads
// that holds any group: each Tick is a Raft entry fsynced on every replica,
// and on a shard without groups it would change nothing.
func (n *Node) proposeGroupTicks() {
	for _, shardID := range n.LocalShards() {
		n.mu.Lock()
		r := n.replicas[shardID]
		isGroup := r != nil && r.info.Kind == controller.ShardGroup
		n.mu.Unlock()
		if !isGroup || n.mustLead(shardID) != nil {
			continue
		}
		busy, err := n.nh.StaleRead(shardID, func(s wholeState) (any, error) { return s.(*groupState).c.HasGroups(), nil })
		if err != nil || !busy.(bool) {
			continue
		}
		ctx, cancel := n.loopCtx()
		_, _ = n.propose(ctx, shardID, group.EncodeCommand(group.Tick{NowMs: time.Now().UnixMilli()}))
		cancel()
	}
}

func kindName(k controller.ShardKind) string {
	switch k {
	case controller.ShardPartition:
		return "partition"
	case controller.ShardGroup:
		return "group"
	default:
		return fmt.Sprintf("kind-%d", k)
	}
}
