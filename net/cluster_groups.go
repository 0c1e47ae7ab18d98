package net

import (
	"context"
	"errors"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/group"
)

// GroupCluster is what the consumer-group handlers ask of the broker
// (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups).
//
// Commands are core/group's; the broker stamps their NowMs (handlers leave
// it 0). Results are core/group's, answered by the group's coordinator:
// the broker hosting the Raft leader of the group's coordinator shard.
//
// Errors: every method answers a *core.Error with NOT_COORDINATOR when this
// broker is not the group's coordinator (clients look the coordinator up
// again), and COORDINATOR_NOT_AVAILABLE when the group's shard cannot be
// reached or has no leader. Any other error means the proposal or read did
// not complete (timeout, replica stopping); handlers answer it as
// COORDINATOR_NOT_AVAILABLE (groupErrorCode), which clients retry after
// finding the coordinator again.
//
// Concurrency: every method is safe for concurrent use.
type GroupCluster interface {
	// FindGroupCoordinator returns the broker coordinating groupID: the
	// broker hosting its shard's Raft leader. COORDINATOR_NOT_AVAILABLE
	// while the cluster is not bootstrapped or the shard has no leader.
	FindGroupCoordinator(groupID string) (BrokerMetadata, error)

	// JoinGroup proposes a Join and, if the coordinator parks it, waits
	// for the answer (the join phase completing, the member's removal, or
	// a re-sent JoinGroup superseding this one). The wait ends early with
	// NOT_COORDINATOR when this broker loses the shard's leadership, and
	// with REBALANCE_IN_PROGRESS (so the client rejoins) when ctx ends or
	// the broker's safety bound passes. The result is never Parked.
	JoinGroup(ctx context.Context, cmd group.Join) (group.JoinResult, error)
	// SyncGroup proposes a Sync and, if parked (a follower before its
	// leader's SyncGroup), waits as JoinGroup does.
	SyncGroup(ctx context.Context, cmd group.Sync) (group.SyncResult, error)
	Heartbeat(ctx context.Context, cmd group.Heartbeat) (group.HeartbeatResult, error)
	LeaveGroup(ctx context.Context, cmd group.Leave) (group.LeaveResult, error)
	// CommitOffsets proposes the commit. Offsets of topics or partitions
	// that do not exist are answered UNKNOWN_TOPIC_OR_PARTITION without
	// being proposed, as Kafka does; the result has one entry per offset
	// in request order.
	CommitOffsets(ctx context.Context, cmd group.CommitOffsets) (group.CommitOffsetsResult, error)
	// FetchOffsets returns the group's committed offsets for partitions,
	// in the order asked (-1 where none), or every committed offset,
	// sorted, when partitions is nil. The read is linearizable (a Raft
	// read index at the coordinator).
	FetchOffsets(ctx context.Context, groupID string, partitions []group.TopicPartition) ([]group.FetchedOffset, error)
	// DescribeGroup describes one group (Dead when the coordinator holds
	// no such group).
	DescribeGroup(groupID string) (group.GroupDescription, error)
	// ListGroups lists the groups this broker coordinates: Kafka's
	// ListGroups is per broker, and admin clients ask every broker.
	ListGroups() ([]group.GroupListing, error)
	// DeleteGroups deletes the groups, one outcome per group in request
	// order; a group this broker does not coordinate gets NOT_COORDINATOR
	// in its entry.
	DeleteGroups(ctx context.Context, groups []string) ([]group.GroupError, error)
}

// groupErrorCode is the code for a GroupCluster error: its own code when
// it carries one, else COORDINATOR_NOT_AVAILABLE (retriable: clients find
// the coordinator again and retry).
func groupErrorCode(err error) core.Code {
	var ke *core.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return core.CoordinatorNotAvailable
}

// groupResultCode is the wire code of a core error inside a result (0 for nil).
func groupResultCode(e *core.Error) int16 {
	if e == nil {
		return 0
	}
	return int16(e.Code)
}
