package raftsm

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// identity is what a data dir remembers about the broker that owns it.
//
// Incarnation is drawn once, when the data dir is first used. A broker
// whose data dir was wiped comes back with a new incarnation: it has
// forgotten its Raft votes and logs, so it must not rejoin its shards under
// its old replica ids (two leaders could be elected in one term). The
// controller sees the new incarnation and gives its replicas new ids.
type identity struct {
	NodeID      int32  `json:"node_id"`
	Incarnation uint64 `json:"incarnation"`
	// ClusterID is empty until the broker has seen its cluster bootstrapped.
	ClusterID string `json:"cluster_id,omitempty"`
	// Peers is the --peers set the data dir was created with (broker id ->
	// Raft address). The controller shard's members are fixed by it, so a
	// broker started on this data dir with other peers would silently keep
	// the old membership: it belongs to another cluster, and startup fails.
	Peers map[int32]string `json:"peers,omitempty"`
	// ControllerMember says how this data dir's replica of the controller
	// shard was made (controllerMember*); ControllerReplicaID names it
	// when it was added by a membership change.
	ControllerMember    string `json:"controller_member,omitempty"`
	ControllerReplicaID uint64 `json:"controller_replica_id,omitempty"`
	// RaftLogShards and RaftStepWorkers are how this data dir's Raft log
	// is laid out: how many pebble instances hold it (dragonboat's LogDB
	// shards) and how many step workers write it (each worker owns one
	// context of the log). dragonboat refuses to open a log with other
	// counts than it was created with, so a data dir keeps its own; absent
	// means legacyRaftLayout.
	RaftLogShards   uint64 `json:"raft_log_shards,omitempty"`
	RaftStepWorkers uint64 `json:"raft_step_workers,omitempty"`
}

// raftLayout is the shape of dragonboat's Raft log and step engine.
type raftLayout struct {
	logShards   uint64 // pebble instances (LogDB shards)
	stepWorkers uint64 // goroutines stepping Raft shards (ExecShards)
}

// newRaftLayout is what a data dir created now gets: one WAL, so one
// fsync serves every partition that wrote in the same moment (pebble
// commits concurrent synced writes together), and 4 step workers, so one
// worker's round carries the writes and messages of a quarter of the
// shards at once. dragonboat's default of 16 and 16 fsynced up to 16 WALs
// for one step of 16 busy partitions and split their messages 16 ways;
// on 2 cores more workers add no parallelism (docs/benchmarks/README.md).
var (
	newRaftLayout    = raftLayout{logShards: 1, stepWorkers: 4}
	legacyRaftLayout = raftLayout{logShards: 16, stepWorkers: 16}
)

// layout is the data dir's Raft log layout.
func (id identity) layout() raftLayout {
	if id.RaftLogShards == 0 && id.RaftStepWorkers == 0 {
		return legacyRaftLayout
	}
	return raftLayout{logShards: id.RaftLogShards, stepWorkers: id.RaftStepWorkers}
}

// check reports a layout dragonboat cannot run: it maps a shard to its
// log shard by (shardID mod logShards) mod stepWorkers and panics when one
// worker's shards map to several, which cannot happen when one count
// divides the other. Powers of two up to 16 all do.
func (l raftLayout) check() error {
	for _, n := range []uint64{l.logShards, l.stepWorkers} {
		if n == 0 || n > 16 || n&(n-1) != 0 {
			return fmt.Errorf("raft_log_shards %d and raft_step_workers %d: each must be 1, 2, 4, 8 or 16", l.logShards, l.stepWorkers)
		}
	}
	return nil
}

// How a data dir's controller replica came to be. A data dir is created
// undecided; its first start asks the peers whether a cluster exists
// (join.go) and records the answer before starting anything, so a crash
// in between asks again rather than guessing.
const (
	// controllerMemberLegacy: written before the field existed; the data
	// dir's controller replica is an initial member (broker id + 1).
	controllerMemberLegacy = ""
	// controllerMemberUndecided: the peers have not been asked yet.
	controllerMemberUndecided = "undecided"
	// controllerMemberInitial: no peer knew a cluster; this replica is an
	// initial member under broker id + 1.
	controllerMemberInitial = "initial"
	// controllerMemberJoining: a peer knew a cluster (this data dir was
	// wiped, or the broker starts late): waiting for a controller member
	// to add a new replica for it.
	controllerMemberJoining = "joining"
	// controllerMemberJoined: added by a membership change as
	// ControllerReplicaID; it restarts as a joiner.
	controllerMemberJoined = "joined"
)

const identityFile = "identity.json"

// loadIdentity reads the data dir's identity, or creates one for nodeID
// and peers if the data dir is new. fresh reports whether it was created
// now. A data dir of another node id or created for other peers is an
// error.
func loadIdentity(dataDir string, nodeID int32, peers map[int32]string) (id identity, fresh bool, err error) {
	path := filepath.Join(dataDir, identityFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		var r [8]byte
		if _, err := rand.Read(r[:]); err != nil {
			return identity{}, false, fmt.Errorf("draw an incarnation id: %w", err)
		}
		id = identity{NodeID: nodeID, Incarnation: binary.BigEndian.Uint64(r[:]) | 1, Peers: peers, // incarnation never 0
			ControllerMember: controllerMemberUndecided,
			RaftLogShards:    newRaftLayout.logShards, RaftStepWorkers: newRaftLayout.stepWorkers}
		return id, true, saveIdentity(dataDir, id)
	case err != nil:
		return identity{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return identity{}, false, fmt.Errorf("%s is not a Tidemark identity file: %w", path, err)
	}
	if id.NodeID != nodeID {
		return identity{}, false, fmt.Errorf("data dir %s belongs to node %d, not node %d", dataDir, id.NodeID, nodeID)
	}
	if id.Incarnation == 0 {
		return identity{}, false, fmt.Errorf("%s has no incarnation id", path)
	}
	switch id.ControllerMember {
	case controllerMemberLegacy, controllerMemberUndecided, controllerMemberInitial, controllerMemberJoining:
	case controllerMemberJoined:
		if id.ControllerReplicaID == 0 {
			return identity{}, false, fmt.Errorf("%s: joined the controller shard without a replica id", path)
		}
	default:
		return identity{}, false, fmt.Errorf("%s: unknown controller_member %q", path, id.ControllerMember)
	}
	if err := id.layout().check(); err != nil {
		return identity{}, false, fmt.Errorf("%s: %w", path, err)
	}
	if id.Peers != nil && !maps.Equal(id.Peers, peers) {
		return identity{}, false, fmt.Errorf("data dir %s belongs to a cluster with peers %s, not %s: start it with its own --peers, or use another data dir",
			dataDir, formatPeers(id.Peers), formatPeers(peers))
	}
	return id, false, nil
}

// formatPeers writes peers as --peers does: "1@host:port,2@host:port".
func formatPeers(peers map[int32]string) string {
	var b strings.Builder
	for i, id := range slices.Sorted(maps.Keys(peers)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d@%s", id, peers[id])
	}
	return b.String()
}

// saveIdentity writes the identity atomically: a temporary file, fsync,
// rename, fsync of the directory.
func saveIdentity(dataDir string, id identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, identityFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write identity: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync identity: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, identityFile)); err != nil {
		return fmt.Errorf("install identity: %w", err)
	}
	d, err := os.Open(dataDir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
