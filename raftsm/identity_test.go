package raftsm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentityIsCreatedOnceAndChecked(t *testing.T) {
	dir := t.TempDir()
	peers := map[int32]string{3: "127.0.0.1:1", 4: "127.0.0.1:2"}
	a, fresh, err := loadIdentity(dir, 3, peers)
	if err != nil || !fresh || a.NodeID != 3 || a.Incarnation == 0 {
		t.Fatalf("first load: %+v fresh=%v err=%v", a, fresh, err)
	}
	b, fresh, err := loadIdentity(dir, 3, map[int32]string{4: "127.0.0.1:2", 3: "127.0.0.1:1"})
	if err != nil || fresh || b.Incarnation != a.Incarnation {
		t.Fatalf("second load: %+v fresh=%v err=%v, want %+v", b, fresh, err, a)
	}
	if _, _, err := loadIdentity(dir, 4, peers); err == nil || !strings.Contains(err.Error(), "belongs to node 3") {
		t.Fatalf("wrong node id accepted: %v", err)
	}
	// The same data dir under another cluster's peers is refused.
	other := map[int32]string{3: "127.0.0.1:1", 5: "127.0.0.1:9"}
	if _, _, err := loadIdentity(dir, 3, other); err == nil ||
		!strings.Contains(err.Error(), "belongs to a cluster with peers 3@127.0.0.1:1,4@127.0.0.1:2, not 3@127.0.0.1:1,5@127.0.0.1:9") {
		t.Fatalf("data dir of another cluster accepted: %v", err)
	}
	// A wiped data dir draws a new incarnation.
	if err := os.Remove(filepath.Join(dir, identityFile)); err != nil {
		t.Fatal(err)
	}
	c, fresh, err := loadIdentity(dir, 3, other)
	if err != nil || !fresh || c.Incarnation == a.Incarnation {
		t.Fatalf("after wipe: %+v fresh=%v err=%v (old incarnation %d)", c, fresh, err, a.Incarnation)
	}
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadIdentity(dir, 3, peers); err == nil || !strings.Contains(err.Error(), "not a Tidemark identity file") {
		t.Fatalf("garbage identity accepted: %v", err)
	}
}

// A new data dir gets one Raft log shard; one written before the field
// existed keeps dragonboat's 16, because dragonboat will not open a log
// under another count; a count its step workers cannot map is refused.
func TestIdentityRaftLogShards(t *testing.T) {
	dir := t.TempDir()
	peers := map[int32]string{1: "127.0.0.1:1"}
	id, _, err := loadIdentity(dir, 1, peers)
	if err != nil || id.raftLogShards() != raftLogShardsNew {
		t.Fatalf("new data dir: %d Raft log shards, err %v; want %d", id.raftLogShards(), err, raftLogShardsNew)
	}
	legacy := `{"node_id": 1, "incarnation": 7, "peers": {"1": "127.0.0.1:1"}}`
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	if id, _, err = loadIdentity(dir, 1, peers); err != nil || id.raftLogShards() != raftLogShardsLegacy {
		t.Fatalf("legacy data dir: %d Raft log shards, err %v; want %d", id.raftLogShards(), err, raftLogShardsLegacy)
	}
	bad := `{"node_id": 1, "incarnation": 7, "raft_log_shards": 3}`
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadIdentity(dir, 1, peers); err == nil || !strings.Contains(err.Error(), "raft_log_shards 3") {
		t.Fatalf("3 Raft log shards accepted: %v", err)
	}

	// Why the count is remembered: dragonboat refuses another one.
	raftDir, addr := t.TempDir(), freeAddrs(t, 1)[0]
	nh, err := newNodeHost(raftDir, addr, DefaultRaftTiming(), &events{}, raftLogShardsLegacy)
	if err != nil {
		t.Fatal(err)
	}
	nh.Close()
	if nh, err := newNodeHost(raftDir, addr, DefaultRaftTiming(), &events{}, raftLogShardsNew); err == nil {
		nh.Close()
		t.Fatal("dragonboat opened a 16-shard Raft log as a 1-shard one")
	}
	nh, err = newNodeHost(raftDir, addr, DefaultRaftTiming(), &events{}, raftLogShardsLegacy)
	if err != nil {
		t.Fatalf("reopen with its own count: %v", err)
	}
	nh.Close()
}
