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
	// RaftLogShards is how many pebble instances hold this data dir's Raft
	// log (dragonboat's LogDB shards). dragonboat refuses to open a log
	// with another count than it was created with, so a data dir keeps
	// its own: absent means raftLogShardsLegacy.
	RaftLogShards uint64 `json:"raft_log_shards,omitempty"`
}

// Raft log shard counts. A data dir created now gets raftLogShardsNew: one
// WAL, so one fsync serves every partition that wrote in the same moment
// (pebble commits concurrent synced writes together). dragonboat's default
// of 16 fsynced up to 16 WALs for one step of 16 busy partitions
// (docs/benchmarks/README.md). Data dirs written before the field existed
// keep the 16 they were created with.
const (
	raftLogShardsLegacy = 16
	raftLogShardsNew    = 1
)

// raftLogShards is the data dir's Raft log shard count.
func (id identity) raftLogShards() uint64 {
	if id.RaftLogShards == 0 {
		return raftLogShardsLegacy
	}
	return id.RaftLogShards
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
			ControllerMember: controllerMemberUndecided, RaftLogShards: raftLogShardsNew}
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
	// dragonboat requires every step worker's shards to map to one LogDB
	// shard, which holds when the count divides its 16 step workers.
	if n := id.raftLogShards(); n > 16 || 16%n != 0 {
		return identity{}, false, fmt.Errorf("%s: raft_log_shards %d is not one of 1, 2, 4, 8 or 16", path, n)
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
