package sim

import (
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// diskFixture is a broker with a disk holding one shard's initial snapshot
// and entries 2..6, synced.
func diskFixture(t *testing.T) (*sim, *node, shardInfo) {
	t.Helper()
	s := &sim{e: newEngine(1, nil), p: Params{Nodes: 3}}
	n := &node{s: s, id: 0, disk: newDisk()}
	info := shardInfo{id: 16, kind: 0, peers: []peer{{1, 0}, {2, 1}, {3, 2}}}
	n.disk.writeSnapshot(info.id, raftpb.Snapshot{Metadata: initialSnapshot(info)}, false)
	var ents []raftpb.Entry
	for i := uint64(2); i <= 6; i++ {
		ents = append(ents, raftpb.Entry{Index: i, Term: 1})
	}
	n.disk.writeEntries(info.id, ents)
	n.disk.writeHardState(info.id, raftpb.HardState{Term: 1, Commit: 6})
	n.disk.sync()
	return s, n, info
}

func lastIndex(t *testing.T, r *replica) uint64 {
	t.Helper()
	i, err := r.mem.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// A crash keeps a prefix of the pending writes; a torn last entry is
// detected by its checksum and dropped, the synced ones survive.
func TestDiskTornTailDropped(t *testing.T) {
	s, n, info := diskFixture(t)
	n.disk.writeEntries(info.id, []raftpb.Entry{{Index: 7, Term: 1}, {Index: 8, Term: 1, Data: []byte("unsynced")}})
	n.disk.writeHardState(info.id, raftpb.HardState{Term: 1, Commit: 8})
	if !n.disk.crash(0, true) {
		t.Fatal("crash did not tear the pending entries write")
	}
	r, err := n.startReplica(info)
	if err != nil {
		t.Fatalf("a torn tail must be dropped, not refused: %v", err)
	}
	if got := lastIndex(t, r); got != 7 {
		t.Fatalf("last index %d after a torn write of 7..8, want 7", got)
	}
	if s.faults[faultTornDetected] != 1 {
		t.Fatalf("torn-detected counted %d times, want 1", s.faults[faultTornDetected])
	}
}

// Unsynced writes are lost on a crash that keeps none of them.
func TestDiskUnsyncedLost(t *testing.T) {
	_, n, info := diskFixture(t)
	n.disk.writeEntries(info.id, []raftpb.Entry{{Index: 7, Term: 1}})
	n.disk.crash(0, false)
	r, err := n.startReplica(info)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastIndex(t, r); got != 6 {
		t.Fatalf("last index %d, want 6: the unsynced entry must be lost", got)
	}
}

// A corrupt entry that is not the last one is never served: the replica
// refuses to start.
func TestDiskCorruptionRefused(t *testing.T) {
	s, n, info := diskFixture(t)
	d := n.disk.durable[info.id]
	bad := append([]byte(nil), d.entries[1].data...)
	bad[0] ^= 0xff
	d.entries[1] = diskRecord{data: bad, crc: d.entries[1].crc}
	if _, err := n.startReplica(info); err == nil {
		t.Fatal("a replica started over a corrupt entry")
	}
	if s.faults[faultCorruptDetected] != 1 {
		t.Fatalf("corrupt-detected counted %d times, want 1", s.faults[faultCorruptDetected])
	}
}
