package group

import (
	"fmt"

	"github.com/tidemark/tidemark/core"
)

// OffsetMetadataTooLarge is Kafka's OFFSET_METADATA_TOO_LARGE (12), which
// core/errors.go does not define.
const OffsetMetadataTooLarge core.Code = 12

func (c *Coordinator) commitOffsets(cmd CommitOffsets, nowMs int64) CommitOffsetsResult {
	all := func(err *core.Error) CommitOffsetsResult {
		res := CommitOffsetsResult{Partitions: make([]PartitionError, len(cmd.Offsets))}
		for i, o := range cmd.Offsets {
			res.Partitions[i] = PartitionError{Topic: o.Topic, Partition: o.Partition, Err: err}
		}
		return res
	}
	if err := c.checkGroupID(cmd.Group); err != nil {
		return all(err)
	}
	g := c.groups[cmd.Group]
	if cmd.Generation == -1 && cmd.MemberID == "" {
		// A standalone commit: the client assigns partitions itself and
		// uses the group only to store offsets. Only a group without
		// members accepts one, or a live group's assignment would be
		// overwritten by an outsider.
		if g != nil && g.state != Empty {
			return all(core.Errorf(core.UnknownMemberID, "group %q is %v with members: a commit needs a member id and generation", g.id, g.state))
		}
		if g == nil && len(c.groups) >= c.cfg.MaxGroups {
			_, err := c.createGroup(cmd.Group, nowMs)
			return all(err)
		}
		return c.storeOffsets(g, cmd, nowMs)
	}
	g, m, err := c.currentMember(cmd.Group, cmd.MemberID, cmd.Generation)
	if err != nil {
		return all(err)
	}
	switch g.state {
	case CompletingRebalance:
		// The member has its new generation but not yet its assignment.
		return all(core.Errorf(core.RebalanceInProgress, "group %q is awaiting its leader's assignment", g.id))
	case Stable, PreparingRebalance:
		// During the join phase members may still commit what they
		// consumed under the generation that is ending (Kafka allows it).
		m.lastHeardMs = nowMs
		return c.storeOffsets(g, cmd, nowMs)
	default:
		panic(fmt.Sprintf("invariant violated: members only in active states: group %q is %v with member %q", g.id, g.state, m.id))
	}
}

// storeOffsets stores each offset that passes its per-partition checks. g
// is nil for a standalone commit to a group that does not exist yet: it is
// created on the first accepted offset (the caller checked MaxGroups).
func (c *Coordinator) storeOffsets(g *groupState, cmd CommitOffsets, nowMs int64) CommitOffsetsResult {
	res := CommitOffsetsResult{Partitions: make([]PartitionError, len(cmd.Offsets))}
	for i, o := range cmd.Offsets {
		res.Partitions[i] = PartitionError{Topic: o.Topic, Partition: o.Partition}
		switch {
		case o.Topic == "" || len(o.Topic) > c.cfg.MaxNameBytes:
			res.Partitions[i].Err = core.Errorf(core.InvalidTopicException, "topic name of %d bytes (must be 1 to %d)", len(o.Topic), c.cfg.MaxNameBytes)
			continue
		case o.Partition < 0:
			res.Partitions[i].Err = core.Errorf(core.UnknownTopicOrPartition, "partition %d", o.Partition)
			continue
		case len(o.Metadata) > c.cfg.MaxOffsetMetadataBytes:
			res.Partitions[i].Err = core.Errorf(OffsetMetadataTooLarge, "offset metadata of %d bytes over the %d-byte limit",
				len(o.Metadata), c.cfg.MaxOffsetMetadataBytes)
			continue
		}
		if g == nil {
			var err *core.Error
			g, err = c.createGroup(cmd.Group, nowMs)
			core.Assert(err == nil, "standalone commit checked the group limit", "%v", err)
		}
		if o.TopicID != ([16]byte{}) {
			g.dropOtherIncarnations(o.Topic, o.TopicID)
		}
		tp := TopicPartition{Topic: o.Topic, Partition: o.Partition}
		if _, ok := g.offsets[tp]; !ok && len(g.offsets) >= c.cfg.MaxOffsetsPerGroup {
			res.Partitions[i].Err = core.Errorf(core.InvalidCommitOffsetSize, "group %q stores %d offsets, its limit", g.id, len(g.offsets))
			continue
		}
		g.offsets[tp] = committedOffset{offset: o.Offset, leaderEpoch: o.LeaderEpoch, metadata: o.Metadata, commitMs: nowMs, topicID: o.TopicID}
	}
	return res
}

// dropOtherIncarnations deletes the group's offsets of topic recorded
// under another non-zero topic id: they belong to a topic of the same name
// that was deleted (Kafka deletes a topic's offsets with the topic).
// Offsets without an id are kept: nothing says which incarnation they
// belong to.
func (g *groupState) dropOtherIncarnations(topic string, id [16]byte) {
	for tp, o := range g.offsets { // deletions only: order does not matter
		if tp.Topic == topic && o.topicID != ([16]byte{}) && o.topicID != id {
			delete(g.offsets, tp)
		}
	}
}

// expireOffsets deletes the offsets of an Empty group that nobody has
// touched for OffsetsRetentionMs: counted from the later of the commit and
// the moment the group became Empty, so a group's offsets outlive its last
// member by the full retention (Kafka's KIP-211 rule).
func (c *Coordinator) expireOffsets(g *groupState, nowMs int64, fx *effects) {
	for _, tp := range g.sortedOffsets() {
		o := g.offsets[tp]
		if nowMs >= max(o.commitMs, g.stateSinceMs)+c.cfg.OffsetsRetentionMs {
			delete(g.offsets, tp)
			fx.expiredOffsets++
		}
	}
}

// FetchedOffset is one partition's committed offset. Offset and
// LeaderEpoch are -1 (with no error, as Kafka answers) when nothing is
// committed.
type FetchedOffset struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitMs    int64
	// TopicID is the topic id the offset was committed under (zero when
	// unknown). The runtime compares it with the topic's current id: an
	// offset of a deleted incarnation must not be served for a new topic
	// of the same name.
	TopicID [16]byte
}

// FetchOffsets returns the committed offsets of group for partitions, in
// the order asked. An unknown group answers -1 for each, as Kafka does.
// The only error is InvalidGroupID (*core.Error).
func (c *Coordinator) FetchOffsets(group string, partitions []TopicPartition) ([]FetchedOffset, error) {
	if err := c.checkGroupID(group); err != nil {
		return nil, err
	}
	g := c.groups[group]
	out := make([]FetchedOffset, len(partitions))
	for i, tp := range partitions {
		out[i] = FetchedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: -1, LeaderEpoch: -1}
		if g == nil {
			continue
		}
		if o, ok := g.offsets[tp]; ok {
			out[i] = fetched(tp, o)
		}
	}
	return out, nil
}

// FetchAllOffsets returns every committed offset of group, sorted by topic
// and partition; none for an unknown group.
func (c *Coordinator) FetchAllOffsets(group string) ([]FetchedOffset, error) {
	if err := c.checkGroupID(group); err != nil {
		return nil, err
	}
	g := c.groups[group]
	if g == nil {
		return nil, nil
	}
	tps := g.sortedOffsets()
	out := make([]FetchedOffset, len(tps))
	for i, tp := range tps {
		out[i] = fetched(tp, g.offsets[tp])
	}
	return out, nil
}

func fetched(tp TopicPartition, o committedOffset) FetchedOffset {
	return FetchedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: o.offset, LeaderEpoch: o.leaderEpoch,
		Metadata: o.metadata, CommitMs: o.commitMs, TopicID: o.topicID}
}
