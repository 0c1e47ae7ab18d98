package net

// GroupCluster is what the consumer-group handlers ask of the broker
// (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups).
type GroupCluster interface {
}
