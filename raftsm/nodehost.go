package raftsm

import (
	"fmt"
	"path/filepath"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"

	"github.com/tidemark/tidemark/raftsm/raftnet"
)

// RaftTiming is the Raft timing shared by every shard of a broker. The
// values must be the same on every broker of a cluster.
type RaftTiming struct {
	// RTTMs is the nominal round trip between brokers in milliseconds; all
	// other Raft timing is a multiple of it.
	RTTMs uint64
	// ElectionRTT is the election timeout in RTTs (dragonboat adds jitter).
	ElectionRTT uint64
	// HeartbeatRTT is the leader's heartbeat interval in RTTs.
	HeartbeatRTT uint64
	// SnapshotEntries: a replica takes a local snapshot (and may compact its
	// Raft log) after this many applied entries.
	SnapshotEntries uint64
	// CompactionOverheadEntries is how many entries stay in the Raft log
	// behind a snapshot, so a slightly lagging follower catches up from the
	// log rather than by a snapshot.
	CompactionOverheadEntries uint64
}

// DefaultRaftTiming suits brokers on one host or one LAN: elections after
// about 500 ms of silence, heartbeats every 50 ms. A shorter election
// timeout (100 ms was tried) causes spurious elections when several brokers
// share two busy cores; 500 ms keeps failover well inside Kafka clients'
// retry budgets. The tick is 50 ms: dragonboat ticks every replica of a
// broker once per tick even when it is idle and quiesced, and at 1,000
// partitions (idle, quiesced) the ticks of three brokers alone took most
// of two cores (20 ms ticks: 13.9 s of CPU per 10 s, 50 ms: 8.0 s;
// docs/benchmarks/README.md). dragonboat wants ElectionRTT at least ten
// times HeartbeatRTT (it warns otherwise).
func DefaultRaftTiming() RaftTiming {
	return RaftTiming{RTTMs: 50, ElectionRTT: 10, HeartbeatRTT: 1, SnapshotEntries: 10000, CompactionOverheadEntries: 5000}
}

func init() {
	// dragonboat logs routine events at INFO (and election steps at WARNING,
	// which cmd/broker quiets further); our own log says what matters.
	for _, pkg := range []string{"raft", "rsm", "transport", "dragonboat", "logdb", "raftpb", "grpc", "config", "settings"} {
		logger.GetLogger(pkg).SetLevel(logger.WARNING)
	}
}

// newNodeHost starts dragonboat for one broker, with its Raft log (LogDB)
// under <dataDir>/raft, laid out as the data dir's identity says.
func newNodeHost(dataDir, raftAddr string, t RaftTiming, ev *events, layout raftLayout) (*dragonboat.NodeHost, error) {
	dir := filepath.Join(dataDir, "raft")
	nhc := config.NodeHostConfig{
		NodeHostDir:    dir,
		WALDir:         dir,
		RTTMillisecond: t.RTTMs,
		RaftAddress:    raftAddr,
		// Leader changes and snapshot traffic feed the broker's log and
		// the tests' checks.
		RaftEventListener:   ev,
		SystemEventListener: ev,
		Expert: config.ExpertConfig{
			LogDB:  logDBConfig(layout.logShards),
			Engine: engineConfig(layout.stepWorkers),
			// dragonboat's frame, written in one call and read through a
			// buffer (raftnet's package comment).
			TransportFactory: &raftnet.Factory{},
		},
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		return nil, fmt.Errorf("start raft node host at %s (raft address %s): %w", dir, raftAddr, err)
	}
	return nh, nil
}

// logDBConfig sizes the Raft log's pebble instances. dragonboat's default
// keeps up to 4 x 128 MiB of memtables per shard, its small profile 4 x
// 16 MiB (1 GiB over its 16 shards). One shard gets 4 x 64 MiB: larger
// memtables mean fewer flushes of a log that is written once and deleted
// soon after.
func logDBConfig(shards uint64) config.LogDBConfig {
	c := config.GetSmallMemLogDBConfig()
	c.Shards = shards
	if shards == 1 {
		c.KVWriteBufferSize = 64 << 20
	}
	return c
}

// engineConfig is dragonboat's default engine with stepWorkers step workers.
func engineConfig(stepWorkers uint64) config.EngineConfig {
	c := config.GetDefaultEngineConfig()
	c.ExecShards = stepWorkers
	return c
}

// shardConfig is the dragonboat configuration of one replica.
func shardConfig(shardID, replicaID uint64, t RaftTiming) config.Config {
	return config.Config{
		ShardID:             shardID,
		ReplicaID:           replicaID,
		ElectionRTT:         t.ElectionRTT,
		HeartbeatRTT:        t.HeartbeatRTT,
		CheckQuorum:         true, // a leader cut off from a quorum steps down
		PreVote:             true, // a rejoining replica does not disrupt a healthy leader
		SnapshotEntries:     t.SnapshotEntries,
		CompactionOverhead:  t.CompactionOverheadEntries,
		OrderedConfigChange: true,
	}
}
