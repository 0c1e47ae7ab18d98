package net

import (
	"context"
	"errors"
	"time"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
)

// AdminCluster is what the administration handlers ask of the broker
// (DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs,
// AlterConfigs, IncrementalAlterConfigs; DescribeCluster reads Metadata).
//
// Errors follow Cluster's convention: a rejection is a *core.Error carrying
// the Kafka code and a one-line reason; any other error means the
// controller or the partition could not be reached in time. Every method is
// safe for concurrent use.
type AdminCluster interface {
	// DeleteTopic deletes a topic by name through the controller and
	// returns its id once the deletion is committed and applied on this
	// broker. Its partitions' replicas are stopped and their data removed
	// by each broker's reconciler shortly after; a topic created again
	// under the same name gets new partitions that start at offset 0.
	DeleteTopic(ctx context.Context, name string) (controller.TopicID, error)
	// CreatePartitions grows a topic to totalCount partitions through the
	// controller (validateOnly: check only).
	CreatePartitions(ctx context.Context, name string, totalCount int32, validateOnly bool) error
	// DeleteRecords proposes partition.DeleteRecords at the partition's
	// leader (offset -1: the high watermark) and waits until it is
	// committed and applied. The result carries core's verdict
	// (OFFSET_OUT_OF_RANGE outside [log start, high watermark]); the error
	// is UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER as for Produce.
	DeleteRecords(ctx context.Context, topic string, partition int32, offset int64) (partition.DeleteRecordsResult, error)
	// TopicConfigs returns every supported config of a topic with its
	// effective value (controller.EffectiveConfigs), from this broker's
	// applied controller state. UNKNOWN_TOPIC_OR_PARTITION for no such
	// topic.
	TopicConfigs(topic string) ([]controller.ConfigValue, error)
	// AlterTopicConfigs applies incremental ops to a topic's configs
	// through the controller (validateOnly: check only). Non-incremental
	// AlterConfigs passes controller.ReplaceConfigOps.
	AlterTopicConfigs(ctx context.Context, topic string, ops []controller.ConfigOp, validateOnly bool) error
	// BrokerID is this broker's id: the only broker resource it describes.
	BrokerID() int32
	// BrokerConfigs lists this broker's own settings (Kafka broker config
	// names, sorted by name). They are fixed at start-up (read-only);
	// IsDefault is false for all of them. The topic defaults
	// (log.retention.ms, message.max.bytes...) are not included: the
	// DescribeConfigs handler adds them from controller.TopicConfigSpecs.
	BrokerConfigs() []controller.ConfigValue
}

const (
	// minAdminTimeout bounds an admin proposal when the request's timeout
	// is shorter or absent: the change is still made, only answered late.
	minAdminTimeout = 5 * time.Second
	// maxAdminTimeout caps a client's TimeoutMillis.
	maxAdminTimeout = 60 * time.Second
	// defaultAdminTimeout bounds proposals of requests that carry no
	// timeout (AlterConfigs, IncrementalAlterConfigs).
	defaultAdminTimeout = 30 * time.Second
)

// adminDeadline turns a request's TimeoutMillis into the time to wait for
// the change itself (capped, 0 when the client gave none) and the bound of
// its proposals (at least minAdminTimeout).
func adminDeadline(timeoutMillis int32) (wait, propose time.Duration) {
	wait = min(max(time.Duration(timeoutMillis)*time.Millisecond, 0), maxAdminTimeout)
	return wait, max(wait, minAdminTimeout)
}

// adminError maps err to the code and message to answer with: a *core.Error
// keeps its own; any other error (a proposal that timed out, a replica not
// ready) is REQUEST_TIMED_OUT, which clients retry, with the cause as
// message: the change may or may not have been made. nil is (NONE, "").
func adminError(err error) (core.Code, string) {
	if err == nil {
		return core.None, ""
	}
	var ke *core.Error
	if errors.As(err, &ke) {
		return ke.Code, ke.Reason
	}
	return core.RequestTimedOut, "the broker could not complete the change in time: " + err.Error()
}

// messagePtr is a nullable error message: nil for no error.
func messagePtr(code core.Code, msg string) *string {
	if code == core.None {
		return nil
	}
	return &msg
}
