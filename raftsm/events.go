package raftsm

import (
	"sync"
	"sync/atomic"

	"github.com/lni/dragonboat/v4/raftio"
)

// events receives dragonboat's Raft and system events for one NodeHost. It
// counts what tests and operators need and forwards leader changes. Its
// methods run on dragonboat's goroutines and must not block.
type events struct {
	onLeader func(raftio.LeaderInfo) // may be nil

	snapshotsRecovered atomic.Int64 // snapshots this host received and applied
	// recoveredMu guards recoveredByShard: snapshots recovered per shard
	// id (one entry per shard that ever recovered one here), so a test can
	// tell which replicas of a wiped broker caught up by snapshot.
	recoveredMu      sync.Mutex
	recoveredByShard map[uint64]int64
	snapshotsSent    atomic.Int64
	leaderChanges    atomic.Int64
}

var (
	_ raftio.IRaftEventListener   = (*events)(nil)
	_ raftio.ISystemEventListener = (*events)(nil)
)

func (e *events) LeaderUpdated(info raftio.LeaderInfo) {
	e.leaderChanges.Add(1)
	if e.onLeader != nil {
		e.onLeader(info)
	}
}

func (e *events) SnapshotRecovered(info raftio.SnapshotInfo) {
	e.snapshotsRecovered.Add(1)
	e.recoveredMu.Lock()
	defer e.recoveredMu.Unlock()
	if e.recoveredByShard == nil {
		e.recoveredByShard = map[uint64]int64{}
	}
	e.recoveredByShard[info.ShardID]++
}

// snapshotsRecoveredOf is how many snapshots of shardID this host applied.
func (e *events) snapshotsRecoveredOf(shardID uint64) int64 {
	e.recoveredMu.Lock()
	defer e.recoveredMu.Unlock()
	return e.recoveredByShard[shardID]
}

func (e *events) SendSnapshotCompleted(raftio.SnapshotInfo) { e.snapshotsSent.Add(1) }

func (e *events) NodeHostShuttingDown()                       {}
func (e *events) NodeUnloaded(raftio.NodeInfo)                {}
func (e *events) NodeDeleted(raftio.NodeInfo)                 {}
func (e *events) NodeReady(raftio.NodeInfo)                   {}
func (e *events) MembershipChanged(raftio.NodeInfo)           {}
func (e *events) ConnectionEstablished(raftio.ConnectionInfo) {}
func (e *events) ConnectionFailed(raftio.ConnectionInfo)      {}
func (e *events) SendSnapshotStarted(raftio.SnapshotInfo)     {}
func (e *events) SendSnapshotAborted(raftio.SnapshotInfo)     {}
func (e *events) SnapshotReceived(raftio.SnapshotInfo)        {}
func (e *events) SnapshotCreated(raftio.SnapshotInfo)         {}
func (e *events) SnapshotCompacted(raftio.SnapshotInfo)       {}
func (e *events) LogCompacted(raftio.EntryInfo)               {}
func (e *events) LogDBCompacted(raftio.EntryInfo)             {}
