package raftsm

import (
	"runtime"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// TestReplicaQueuesReachDragonboat: the go:linkname variables of queues.go
// are dragonboat's own. A linkname to a variable dragonboat no longer has
// still builds and changes nothing, so this test measures what starting a
// replica allocates with dragonboat's default lengths and with ours: the
// queues shrink by about 430 KB a replica.
func TestReplicaQueuesReachDragonboat(t *testing.T) {
	sizeReplicaQueues()
	defer func() { // the process-wide values StartNode expects
		dragonboatReceiveQueueLen, dragonboatProposalQueueLen = replicaReceiveQueueMessages, replicaProposalQueueEntries
	}()
	addr := freeAddrs(t, 1)[0]
	timing := DefaultRaftTiming()
	nh, err := newNodeHost(t.TempDir(), addr, timing, &events{}, newRaftLayout)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	const replicas = 20
	next := uint64(100)
	perReplica := func(receive, proposals uint64) uint64 {
		dragonboatReceiveQueueLen, dragonboatProposalQueueLen = receive, proposals
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < replicas; i++ {
			next++
			create := func(uint64, uint64) sm.IOnDiskStateMachine { return &nullSM{} }
			if err := nh.StartOnDiskReplica(map[uint64]string{1: addr}, false, create, shardConfig(next, 1, timing)); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / replicas
	}
	defaults := perReplica(1024, 2048)
	ours := perReplica(replicaReceiveQueueMessages, replicaProposalQueueEntries)
	t.Logf("allocated per replica start: %d KiB with dragonboat's queue lengths, %d KiB with ours", defaults>>10, ours>>10)
	if ours+300<<10 > defaults {
		t.Fatalf("our queue lengths save %d KiB a replica, want at least 300: the linknamed variables are not dragonboat's", (int64(defaults)-int64(ours))>>10)
	}
}
