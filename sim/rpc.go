package sim

import (
	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/group"
	"github.com/tidemark/tidemark/core/partition"
)

// The client protocol of the simulated brokers: Kafka's requests reduced
// to what the core needs. A request names the shard it is for (clients
// resolve it from metadata, as Kafka clients do); the broker answers
// NotLeader with its view of the leader when it does not lead that shard.

type reqKind uint8

const (
	reqMetadata reqKind = iota + 1
	reqProduce
	reqFetch
	reqListOffsets
	reqController  // a controller command (Bootstrap, CreateTopic)
	reqGroup       // a group command (Join, Sync, Heartbeat, Leave, CommitOffsets)
	reqOffsetFetch // OffsetFetch: read the committed offsets of a group
)

type request struct {
	id     uint64
	client int
	kind   reqKind
	shard  uint64

	records  []byte // produce
	offset   int64  // fetch
	maxBytes int32  // fetch

	ctrl controller.Command
	grp  group.Command

	group string                 // offset fetch
	tps   []group.TopicPartition // offset fetch
}

type response struct {
	id        uint64
	notLeader bool
	leader    int32 // the broker the answering broker believes leads; -1: unknown
	err       *core.Error

	meta    *metaView
	produce partition.ProduceResult
	fetch   partition.FetchResult
	list    partition.ListOffsetsResult
	ctrl    controller.Result
	grp     group.Result
	offsets []group.FetchedOffset
}

// metaView is a broker's answer to Metadata: the controller's topics and
// shards as the broker has applied them, and the leaders it knows of.
type metaView struct {
	bootstrapped bool
	topics       []controller.TopicInfo
	groupShards  int32
	groupShardID []controller.ShardID
	leaders      map[uint64]int32 // shard -> broker; looked up, never iterated
}
