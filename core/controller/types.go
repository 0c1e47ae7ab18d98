package controller

// ShardID names one Raft shard: the controller, a group-coordinator shard
// or a partition. dragonboat and etcd raft take it as a uint64.
type ShardID uint64

// ReplicaID names one replica of a shard (dragonboat's replica id, etcd
// raft's node id). The controller allocates them from a counter that never
// goes back, so an id names one incarnation of one broker's copy of one
// shard, forever. 0 is never allocated (both Raft libraries reserve it).
type ReplicaID uint64

// Shard id layout. The controller shard is fixed and its membership (the
// initial peers) belongs to the runtime, not to this state machine. Ids
// 2..FirstAllocatedShardID-1 are reserved for future fixed shards. From
// FirstAllocatedShardID one counter hands out group shards (at Bootstrap,
// so they take the first GroupShardCount ids) and then partition shards
// in creation order.
const (
	ControllerShardID     ShardID = 1
	FirstAllocatedShardID ShardID = 16
)

// FirstReplicaID is the first replica id the controller allocates.
const FirstReplicaID ReplicaID = 1

// TopicID is Kafka's topic UUID, drawn by the proposer. The zero id means
// "no id" on Kafka's wire and is never a topic's id.
type TopicID [16]byte

// BrokerInfo is what a broker says about itself when it registers.
type BrokerInfo struct {
	ID        int32  // Kafka node id, >= 0
	KafkaAddr string // host:port advertised to Kafka clients
	RaftAddr  string // host:port other brokers' Raft transports dial
	Rack      string // "" when the broker has no rack
	// Incarnation is drawn at random when the broker's data directory is
	// created and stored in it. A broker that comes back with a different
	// incarnation has lost its Raft state. 0 means "not registered yet":
	// Bootstrap lists the initial brokers before they have registered (the
	// bootstrapping broker cannot know the others' incarnations), and their
	// first RegisterBroker adopts its incarnation without counting as a
	// wipe. That is safe because a runtime starts no replica on a broker
	// before the controller holds its registration. RegisterBroker itself
	// must carry a nonzero incarnation and a Kafka address.
	Incarnation uint64
}

// Replica is one member of a shard: which broker hosts it, under which
// Raft replica id.
type Replica struct {
	BrokerID  int32
	ReplicaID ReplicaID
}

// ConfigEntry is one topic config key and its value.
type ConfigEntry struct {
	Key   string
	Value string
}

// ConfigOpType is what an incremental AlterConfigs operation does to a key.
// The numbers are Kafka's IncrementalAlterConfigs op types; APPEND (2) and
// SUBTRACT (3) apply to list configs only and are not supported (the one
// list config, cleanup.policy, has a single legal value).
type ConfigOpType uint8

const (
	ConfigOpSet    ConfigOpType = 0
	ConfigOpDelete ConfigOpType = 1
)

// ConfigOp is one operation of AlterConfigs. Value is ignored by delete.
type ConfigOp struct {
	Key   string
	Value string
	Op    ConfigOpType
}

// ShardKind says what a shard replicates.
type ShardKind uint8

const (
	ShardGroup     ShardKind = 1 // a consumer-group coordinator shard
	ShardPartition ShardKind = 2 // one partition of a topic
)

func (k ShardKind) String() string {
	switch k {
	case ShardGroup:
		return "group"
	case ShardPartition:
		return "partition"
	default:
		return "unknown"
	}
}

// ShardInfo is one shard as the reconciler sees it.
//
// Replicas is the desired membership; Replicas[0] is the preferred leader.
// InitialReplicas is the membership the shard was created with and never
// changes: a replica listed there starts with that initial membership, any
// other replica (a replacement for a wiped broker) starts as a joiner after
// the runtime added it to the shard. Positions correspond: InitialReplicas[i]
// and Replicas[i] are on the same broker.
type ShardInfo struct {
	ID   ShardID
	Kind ShardKind
	// Group is the group-shard index (0..GroupShardCount-1) for ShardGroup.
	Group int32
	// Topic, TopicID and Partition identify a ShardPartition.
	Topic           string
	TopicID         TopicID
	Partition       int32
	Replicas        []Replica
	InitialReplicas []Replica
}

// PartitionInfo is one partition of a topic.
type PartitionInfo struct {
	Index    int32
	Shard    ShardID
	Replicas []Replica // Replicas[0] is the preferred leader
}

// TopicInfo is one topic. Configs holds only the keys set on the topic,
// sorted by key; EffectiveConfigs and LogSettingsOf overlay the defaults.
type TopicInfo struct {
	Name              string
	ID                TopicID
	ReplicationFactor int32
	CreatedMs         int64
	Configs           []ConfigEntry
	Partitions        []PartitionInfo
}

// ReplicaReplacement reports that a wiped broker's replica of a shard was
// given a new id. The runtime removes OldReplicaID from the shard's Raft
// membership and adds NewReplicaID at the broker's Raft address.
type ReplicaReplacement struct {
	ShardID      ShardID
	BrokerID     int32
	OldReplicaID ReplicaID
	NewReplicaID ReplicaID
}

// BrokerState is a registered broker and when its current registration was
// applied (the proposer's clock).
type BrokerState struct {
	Info         BrokerInfo
	RegisteredMs int64
}
