package sim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	"github.com/tidemark/tidemark/core/partition"
)

// peer is one replica of a shard: its Raft id and its broker.
type peer struct {
	rid    uint64
	broker int32
}

// shardInfo is what a broker needs to host a replica of a shard.
type shardInfo struct {
	id        uint64
	kind      controller.ShardKind // 0: the controller shard
	topic     string
	partition int32
	peers     []peer // sorted by rid
}

// replica is one shard replica on one broker: an etcd RawNode over a
// MemoryStorage (the broker's page cache of its simulated disk) and the
// core state machine it drives.
type replica struct {
	n    *node
	info shardInfo
	rid  uint64
	rn   *raft.RawNode
	mem  *raft.MemoryStorage

	ctrl *controller.Controller
	log  *partition.Log
	grp  *group.Coordinator

	applied   uint64
	snapIndex uint64 // index of the latest snapshot (1: the initial one)
	store     *partition.MemStore
	proposals map[uint64]*pending // by request id; looked up, never iterated
	reads     []pendingRead       // fetches waiting for their read index to apply
	// everLed: this replica has been leader in some term (the planted
	// deposed-leader bug serves reads on that alone).
	everLed bool
	// predictedEnd is the leader's guess of the log end offset including
	// its proposals not yet applied (used only by planted bugs).
	predictedEnd int64
}

type pending struct {
	req   *request
	reply func(*response)
}

type pendingRead struct {
	ctx   uint64 // request id, the ReadIndex context
	index uint64 // 0 until the ReadState arrives
	req   *request
	reply func(*response)
}

var discardLogger = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

// initialSnapshot is the snapshot every fresh replica of a shard starts
// from: index 1, term 1, the shard's voters. All replicas start equal, so
// no ConfChange entries are needed.
func initialSnapshot(info shardInfo) raftpb.SnapshotMetadata {
	var voters []uint64
	for _, p := range info.peers {
		voters = append(voters, p.rid)
	}
	return raftpb.SnapshotMetadata{Index: 1, Term: 1, ConfState: raftpb.ConfState{Voters: voters}}
}

// newStateMachine gives the replica an empty core state machine of its kind.
func (r *replica) newStateMachine() {
	switch r.info.kind {
	case 0:
		r.ctrl = controller.New(controller.DefaultConfig())
	case controller.ShardPartition:
		r.store = &partition.MemStore{}
		r.log = partition.New(partition.DefaultConfig(), r.store)
	case controller.ShardGroup:
		cfg := group.DefaultConfig()
		cfg.MinSessionTimeoutMs = minSessionMs
		cfg.InitialRebalanceDelayMs = 0
		g, err := group.New(cfg)
		if err != nil {
			panic(err)
		}
		r.grp = g
	}
}

// startReplica opens (or creates) the replica of info on n from n's disk.
// It returns an error when the disk holds a corrupt record the replica
// cannot do without.
func (n *node) startReplica(info shardInfo) (*replica, error) {
	r := &replica{n: n, info: info, proposals: make(map[uint64]*pending), predictedEnd: -1}
	for _, p := range info.peers {
		if p.broker == n.id {
			r.rid = p.rid
		}
	}
	r.newStateMachine()
	r.mem = raft.NewMemoryStorage()
	d := n.disk.durable[info.id]
	if d == nil || len(d.snap.data) == 0 {
		snap := raftpb.Snapshot{Metadata: initialSnapshot(info)}
		if err := r.mem.ApplySnapshot(snap); err != nil {
			panic(err)
		}
		n.disk.writeSnapshot(info.id, snap, false)
		n.disk.sync() // creating a replica is synced before it takes part
		r.applied, r.snapIndex = 1, 1
	} else if err := r.load(d); err != nil {
		return nil, err
	}
	cfg := &raft.Config{
		ID:              r.rid,
		ElectionTick:    electionTicks,
		HeartbeatTick:   heartbeatTicks,
		Storage:         r.mem,
		Applied:         r.applied,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 64,
		CheckQuorum:     true,
		PreVote:         true,
		ReadOnlyOption:  raft.ReadOnlySafe,
		Logger:          discardLogger,
	}
	rn, err := raft.NewRawNode(cfg)
	if err != nil {
		panic(fmt.Sprintf("sim: new raw node: %v", err))
	}
	r.rn = rn
	return r, nil
}

// load rebuilds the MemoryStorage from the durable disk, checking every
// record. A torn last entry (a write that never completed, so was never
// acknowledged) is dropped; any other bad record is corruption, and the
// replica refuses to start rather than serve it.
func (r *replica) load(d *replicaDisk) error {
	var snap raftpb.Snapshot
	if !d.snap.ok() || snap.Unmarshal(d.snap.data) != nil {
		r.n.s.count(faultCorruptDetected)
		return fmt.Errorf("shard %d: snapshot record corrupt", r.info.id)
	}
	if err := r.mem.ApplySnapshot(snap); err != nil {
		panic(err)
	}
	if err := r.restore(snap); err != nil {
		return err
	}
	if len(d.hs.data) > 0 {
		var hs raftpb.HardState
		if !d.hs.ok() || hs.Unmarshal(d.hs.data) != nil {
			return fmt.Errorf("shard %d: hard state corrupt", r.info.id)
		}
		defer func() { _ = r.mem.SetHardState(hs) }()
	}
	ents := make([]raftpb.Entry, 0, len(d.entries))
	for i, rec := range d.entries {
		var e raftpb.Entry
		if !rec.ok() || e.Unmarshal(rec.data) != nil {
			if i == len(d.entries)-1 {
				r.n.s.count(faultTornDetected)
				d.entries = d.entries[:i]
				break
			}
			r.n.s.count(faultCorruptDetected)
			return fmt.Errorf("shard %d: entry %d corrupt", r.info.id, d.first+uint64(i))
		}
		ents = append(ents, e)
	}
	ents = slices.DeleteFunc(ents, func(e raftpb.Entry) bool { return e.Index <= snap.Metadata.Index })
	if len(ents) > 0 && ents[0].Index != snap.Metadata.Index+1 {
		r.n.s.count(faultCorruptDetected)
		return fmt.Errorf("shard %d: log starts at %d after a snapshot at %d", r.info.id, ents[0].Index, snap.Metadata.Index)
	}
	if len(ents) > 0 {
		if err := r.mem.Append(ents); err != nil {
			return fmt.Errorf("shard %d: append: %w", r.info.id, err)
		}
	}
	return nil
}

// leaderBroker is the broker of the leader this replica knows of, or -1.
func (r *replica) leaderBroker() int32 {
	lead := r.rn.BasicStatus().Lead
	for _, p := range r.info.peers {
		if p.rid == lead {
			return p.broker
		}
	}
	return -1
}

func (r *replica) isLeader() bool { return r.rn.BasicStatus().RaftState == raft.StateLeader }

func (r *replica) brokerOf(rid uint64) int32 {
	for _, p := range r.info.peers {
		if p.rid == rid {
			return p.broker
		}
	}
	return -1
}

// Entries carry an 8-byte request id (0: none) before the core command, so
// the broker that proposed an entry can answer its client when it applies.
func encodeEntry(reqID uint64, cmd []byte) []byte {
	b := make([]byte, 8, 8+len(cmd))
	binary.BigEndian.PutUint64(b, reqID)
	return append(b, cmd...)
}

func decodeEntry(b []byte) (uint64, []byte, bool) {
	if len(b) < 8 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(b), b[8:], true
}

func entryDigest(e raftpb.Entry) uint64 {
	h := fnv.New64a()
	var b [17]byte
	binary.BigEndian.PutUint64(b[:], e.Term)
	b[8] = byte(e.Type)
	_, _ = h.Write(b[:9])
	_, _ = h.Write(e.Data)
	return h.Sum64()
}

// stateHash is the replica's core StateHash.
func (r *replica) stateHash() uint64 {
	switch {
	case r.ctrl != nil:
		return r.ctrl.StateHash()
	case r.log != nil:
		return r.log.StateHash()
	default:
		return r.grp.StateHash()
	}
}

// snapshotEntries: a replica snapshots its state and compacts its log once
// it has applied this many entries since its last snapshot, keeping
// snapshotKeepEntries behind for followers that lag a little (further
// behind, they get the snapshot: MsgSnap).
const (
	snapshotEntries     = 64
	snapshotKeepEntries = 16
)

// snapshotData encodes the state machine: partition.WriteSnapshot,
// controller and group Snapshot.
func (r *replica) snapshotData() []byte {
	switch {
	case r.ctrl != nil:
		return r.ctrl.Snapshot()
	case r.grp != nil:
		return r.grp.Snapshot()
	default:
		var b bytes.Buffer
		if err := partition.WriteSnapshot(&b, r.log.Meta(), r.store); err != nil {
			panic("sim: partition snapshot: " + err.Error())
		}
		return b.Bytes()
	}
}

// restore replaces the state machine with snap's (an empty snapshot is the
// initial one: a fresh machine) and sets applied to its index.
func (r *replica) restore(snap raftpb.Snapshot) error {
	r.newStateMachine()
	r.applied, r.snapIndex = snap.Metadata.Index, snap.Metadata.Index
	if len(snap.Data) == 0 {
		return nil
	}
	var err error
	switch {
	case r.ctrl != nil:
		r.ctrl, err = controller.Restore(controller.DefaultConfig(), snap.Data)
	case r.grp != nil:
		r.grp, err = group.Restore(r.grp.Config(), snap.Data)
	default:
		r.store = &partition.MemStore{}
		r.log, err = partition.ReadSnapshot(bytes.NewReader(snap.Data), r.store, partition.DefaultConfig())
	}
	if err != nil {
		r.n.s.count(faultCorruptDetected)
		return fmt.Errorf("shard %d: restore snapshot at %d: %w", r.info.id, snap.Metadata.Index, err)
	}
	return nil
}

// maybeSnapshot takes a snapshot at the applied index and compacts the
// log, in memory and on disk (snapshot first, then the compaction).
func (r *replica) maybeSnapshot() {
	if r.applied < r.snapIndex+snapshotEntries {
		return
	}
	cs := initialSnapshot(r.info).ConfState
	snap, err := r.mem.CreateSnapshot(r.applied, &cs, r.snapshotData())
	if err != nil {
		return
	}
	r.snapIndex = r.applied
	r.n.disk.writeSnapshot(r.info.id, snap, true)
	if r.applied > snapshotKeepEntries {
		upTo := r.applied - snapshotKeepEntries
		if err := r.mem.Compact(upTo); err == nil {
			r.n.disk.writeCompact(r.info.id, upTo)
		}
	}
	r.n.s.count(faultSnapshot)
	r.n.s.e.trace4("snapshot", int64(r.info.id), int64(r.n.id), int64(r.applied), 0)
}
