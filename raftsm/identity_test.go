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

// A new data dir gets newRaftLayout; one written before the fields existed
// keeps dragonboat's defaults, because dragonboat will not open a log under
// other counts; counts dragonboat cannot map are refused.
func TestIdentityRaftLayout(t *testing.T) {
	dir := t.TempDir()
	peers := map[int32]string{1: "127.0.0.1:1"}
	id, _, err := loadIdentity(dir, 1, peers)
	if err != nil || id.layout() != newRaftLayout {
		t.Fatalf("new data dir: layout %+v, err %v; want %+v", id.layout(), err, newRaftLayout)
	}
	legacy := `{"node_id": 1, "incarnation": 7, "peers": {"1": "127.0.0.1:1"}}`
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	if id, _, err = loadIdentity(dir, 1, peers); err != nil || id.layout() != legacyRaftLayout {
		t.Fatalf("legacy data dir: layout %+v, err %v; want %+v", id.layout(), err, legacyRaftLayout)
	}
	for _, bad := range []string{
		`{"node_id": 1, "incarnation": 7, "raft_log_shards": 3, "raft_step_workers": 4}`,
		`{"node_id": 1, "incarnation": 7, "raft_log_shards": 1}`,
		`{"node_id": 1, "incarnation": 7, "raft_log_shards": 1, "raft_step_workers": 32}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, identityFile), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadIdentity(dir, 1, peers); err == nil || !strings.Contains(err.Error(), "must be 1, 2, 4, 8 or 16") {
			t.Fatalf("%s accepted: %v", bad, err)
		}
	}

	// Why the layout is remembered: dragonboat refuses another one.
	raftDir, addr := t.TempDir(), freeAddrs(t, 1)[0]
	nh, err := newNodeHost(raftDir, addr, DefaultRaftTiming(), &events{}, legacyRaftLayout)
	if err != nil {
		t.Fatal(err)
	}
	nh.Close()
	for _, other := range []raftLayout{newRaftLayout, {logShards: 16, stepWorkers: 4}, {logShards: 1, stepWorkers: 16}} {
		if nh, err := newNodeHost(raftDir, addr, DefaultRaftTiming(), &events{}, other); err == nil {
			nh.Close()
			t.Fatalf("dragonboat opened a Raft log of layout %+v as %+v", legacyRaftLayout, other)
		}
	}
	nh, err = newNodeHost(raftDir, addr, DefaultRaftTiming(), &events{}, legacyRaftLayout)
	if err != nil {
		t.Fatalf("reopen with its own layout: %v", err)
	}
	nh.Close()
}
