package net

import (
	"context"

	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
)

// Cluster is what the handlers ask of the broker. The broker implements it
// (raftsm.KafkaCluster over a raftsm.Node); handlers only translate between
// it and the wire.
//
// Concurrency: every method is called from many handler goroutines at once
// and must be safe for that. Metadata is a local read and may lag the
// controller; CreateTopic returns once the controller has committed and
// applied the command (or rejected it).
type Cluster interface {
	GroupCluster // consumer groups: cluster_groups.go
	AdminCluster // topic and config administration: cluster_admin.go

	// Metadata returns the cluster as this broker sees it now: every
	// registered broker, the controller to report, and every live topic.
	Metadata() (ClusterMetadata, error)
	// CreateTopic creates a topic through the controller. Partitions and
	// ReplicationFactor of -1 take the broker's defaults (Kafka's
	// num.partitions and default.replication.factor). A rejection by the
	// controller is returned as a *core.Error carrying the Kafka code; any
	// other error means the controller could not be reached in time.
	CreateTopic(ctx context.Context, spec TopicSpec) (CreatedTopic, error)
	// AutoCreateTopics is the broker's auto.create.topics.enable.
	AutoCreateTopics() bool
	// AllocateProducerID reserves one producer id through the controller
	// (idempotent producers, InitProducerId). A rejection by the controller
	// is returned as a *core.Error; any other error means the controller
	// could not be reached in time.
	AllocateProducerID(ctx context.Context) (int64, error)

	// The partition calls below answer a *core.Error with
	// UNKNOWN_TOPIC_OR_PARTITION for a topic or partition this broker does
	// not know, and NOT_LEADER_OR_FOLLOWER when this broker does not lead
	// the partition (no local replica, or another replica leads). Any other
	// error means the partition could not be reached (a proposal timed
	// out, the replica is stopping).

	// Produce proposes one record batch, already checked with
	// batch.Validate, to the partition and waits until it is committed and
	// applied. The result carries core's verdict (duplicates, sequence
	// errors, MESSAGE_TOO_LARGE against the topic's max.message.bytes).
	Produce(ctx context.Context, topic string, partition int32, batch []byte) (partition.ProduceResult, error)
	// Fetch reads from the partition's applied log at the leader, the
	// records appended to buf[:0] (partition.Log.FetchInto; buf may be
	// nil). The records then belong to the caller, which reuses their
	// memory once the response is encoded: Fetch keeps no reference to buf
	// or to them. The channel is closed when the partition applies its next
	// entry: a long poll waits on it and reads again.
	Fetch(topic string, partition int32, offset int64, maxBytes int32, buf []byte) (partition.FetchResult, <-chan struct{}, error)
	// ListOffsets answers Kafka's ListOffsets for one partition at the
	// leader (timestamps -2 earliest, -1 latest, else by time).
	ListOffsets(topic string, partition int32, timestampMs int64) (partition.ListOffsetsResult, error)
}

// ClusterMetadata is one snapshot of the cluster for Metadata responses.
type ClusterMetadata struct {
	ClusterID string // "" before the cluster is bootstrapped
	// ControllerID is a live broker listed in Brokers: Kafka clients send
	// admin requests there, and -1 loops some of them forever.
	ControllerID int32
	Brokers      []BrokerMetadata // sorted by id
	Topics       []TopicMetadata  // sorted by name
}

// BrokerMetadata is one broker as clients reach it.
type BrokerMetadata struct {
	ID   int32
	Host string
	Port int32
	Rack string // "" when none
}

// TopicMetadata is one topic and its partitions, by index.
type TopicMetadata struct {
	Name       string
	ID         controller.TopicID
	Partitions []PartitionMetadata
}

// PartitionMetadata is one partition. Leader is -1 when no leader is known
// (answered as LEADER_NOT_AVAILABLE). ISR lists the replicas in sync as
// this broker last observed them (the leader always among them); it is an
// observation, not a commit rule (raftsm/isr.go).
type PartitionMetadata struct {
	Index  int32
	Leader int32
	// LeaderEpoch is the Raft term of the partition's leader (Metadata
	// v7+), -1 when not known here. Terms only grow, so a client never
	// sees a newer leader under an older epoch from one broker.
	LeaderEpoch int32
	Replicas    []int32 // the preferred leader first
	ISR         []int32
}

// TopicSpec is a topic to create.
type TopicSpec struct {
	Name              string
	Partitions        int32 // -1: the broker's default
	ReplicationFactor int32 // -1: the broker's default
	Configs           []controller.ConfigEntry
	ValidateOnly      bool
}

// CreatedTopic is what the controller created (or, with ValidateOnly, would
// create), defaults resolved.
type CreatedTopic struct {
	ID                controller.TopicID
	Partitions        int32
	ReplicationFactor int32
}
