package group

import "fmt"

// Config bounds one group-coordinator shard. Every replica of a shard must
// run with an equal Config: the bounds decide results, so replicas with
// different bounds would diverge. Config is not part of the snapshot.
type Config struct {
	// MinSessionTimeoutMs and MaxSessionTimeoutMs bound a member's session
	// timeout (Kafka's group.min.session.timeout.ms and
	// group.max.session.timeout.ms). A JoinGroup outside them gets
	// InvalidSessionTimeout.
	MinSessionTimeoutMs int32
	MaxSessionTimeoutMs int32

	// InitialRebalanceDelayMs is how long the first rebalance of an Empty
	// group waits for more members (Kafka's
	// group.initial.rebalance.delay.ms). Each window in which a new member
	// joined extends the wait by another window, up to the members'
	// rebalance timeout. 0 turns the delay off.
	InitialRebalanceDelayMs int32

	// OffsetsRetentionMs is how long the committed offsets of an Empty
	// group are kept (Kafka's offsets.retention.minutes): an offset expires
	// when OffsetsRetentionMs have passed since both its commit and the
	// moment the group became Empty.
	OffsetsRetentionMs int64

	// MaxGroups bounds the groups one shard holds. A command that would
	// create a group beyond it gets PolicyViolation.
	MaxGroups int

	// MaxGroupSize bounds the members of one group (Kafka's
	// group.max.size). A new member beyond it gets GroupMaxSizeReached.
	MaxGroupSize int

	// MaxPendingMembersPerGroup bounds the member ids handed out with
	// MemberIDRequired and not yet used to rejoin. Beyond it a new member
	// gets GroupMaxSizeReached until some expire.
	MaxPendingMembersPerGroup int

	// MaxOffsetsPerGroup bounds the committed offsets one group stores. A
	// commit of a new partition beyond it gets InvalidCommitOffsetSize for
	// that partition.
	MaxOffsetsPerGroup int

	// MaxOffsetMetadataBytes bounds a committed offset's metadata string
	// (Kafka's offset.metadata.max.bytes). Over it: OffsetMetadataTooLarge
	// for that partition.
	MaxOffsetMetadataBytes int

	// MaxProtocolsPerMember bounds the protocols one JoinGroup offers.
	MaxProtocolsPerMember int

	// MaxProtocolMetadataBytes bounds one protocol's metadata in a
	// JoinGroup (a consumer's subscription).
	MaxProtocolMetadataBytes int

	// MaxAssignmentBytes bounds one member's assignment in the leader's
	// SyncGroup.
	MaxAssignmentBytes int

	// MaxNameBytes bounds every identifier the coordinator stores: group
	// ids, member ids, client ids and hosts, protocol types and names,
	// topic names.
	MaxNameBytes int
}

// DefaultConfig returns Kafka's defaults where Kafka has one, and bounds of
// our own where Kafka has none.
func DefaultConfig() Config {
	return Config{
		MinSessionTimeoutMs:       6000,
		MaxSessionTimeoutMs:       1800000,
		InitialRebalanceDelayMs:   3000,
		OffsetsRetentionMs:        7 * 24 * 3600 * 1000,
		MaxGroups:                 10000,
		MaxGroupSize:              1000,
		MaxPendingMembersPerGroup: 1000,
		MaxOffsetsPerGroup:        100000,
		MaxOffsetMetadataBytes:    4096,
		MaxProtocolsPerMember:     16,
		MaxProtocolMetadataBytes:  1 << 20,
		MaxAssignmentBytes:        1 << 20,
		MaxNameBytes:              1024,
	}
}

// Validate reports a Config whose bounds cannot work together.
func (c Config) Validate() error {
	switch {
	case c.MinSessionTimeoutMs <= 0:
		return fmt.Errorf("group config: MinSessionTimeoutMs %d must be positive", c.MinSessionTimeoutMs)
	case c.MaxSessionTimeoutMs < c.MinSessionTimeoutMs:
		return fmt.Errorf("group config: MaxSessionTimeoutMs %d below MinSessionTimeoutMs %d", c.MaxSessionTimeoutMs, c.MinSessionTimeoutMs)
	case c.InitialRebalanceDelayMs < 0:
		return fmt.Errorf("group config: InitialRebalanceDelayMs %d is negative", c.InitialRebalanceDelayMs)
	case c.OffsetsRetentionMs <= 0:
		return fmt.Errorf("group config: OffsetsRetentionMs %d must be positive", c.OffsetsRetentionMs)
	case c.MaxGroups <= 0, c.MaxGroupSize <= 0, c.MaxPendingMembersPerGroup <= 0, c.MaxOffsetsPerGroup <= 0,
		c.MaxProtocolsPerMember <= 0, c.MaxNameBytes <= 0:
		return fmt.Errorf("group config: count bounds must be positive: %+v", c)
	case c.MaxOffsetMetadataBytes < 0, c.MaxProtocolMetadataBytes < 0, c.MaxAssignmentBytes < 0:
		return fmt.Errorf("group config: byte bounds must not be negative: %+v", c)
	case c.MaxNameBytes > maxDecodeNameBytes, c.MaxProtocolMetadataBytes > maxDecodeBlobBytes,
		c.MaxAssignmentBytes > maxDecodeBlobBytes, c.MaxOffsetMetadataBytes > maxDecodeNameBytes:
		return fmt.Errorf("group config: a byte bound exceeds what the command encoding carries: %+v", c)
	}
	return nil
}
