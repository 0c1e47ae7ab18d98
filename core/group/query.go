package group

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// MemberDescription is one member in DescribeGroup.
type MemberDescription struct {
	MemberID           string
	ClientID           string
	ClientHost         string
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32
	// Metadata (for the chosen protocol) and Assignment are filled only
	// when the group is Stable, as Kafka's DescribeGroups does.
	Metadata   []byte
	Assignment []byte
}

// GroupDescription is a DescribeGroups answer for one group, plus what the
// simulator and tests need (Generation, LeaderID, OwnershipConflicts).
type GroupDescription struct {
	Group        string
	State        State
	ProtocolType string
	// Protocol is the chosen protocol; "" unless Stable, as in Kafka.
	Protocol   string
	Generation int32
	LeaderID   string
	// Members in the order they joined the group.
	Members []MemberDescription
	// OwnershipConflicts: partitions the current generation's leader gave
	// to more than one member (consumer protocol only, counted only under
	// core.ExpensiveChecks; Kafka accepts any assignment, so this is a
	// diagnostic, not an error).
	OwnershipConflicts int
}

// DescribeGroup describes group. A group the shard does not hold is
// reported Dead with no error, as Kafka does. The only error is
// InvalidGroupID (*core.Error). Byte slices alias the coordinator's
// state: callers must not modify them.
func (c *Coordinator) DescribeGroup(group string) (GroupDescription, error) {
	if err := c.checkGroupID(group); err != nil {
		return GroupDescription{}, err
	}
	g := c.groups[group]
	if g == nil {
		return GroupDescription{Group: group, State: Dead}, nil
	}
	d := GroupDescription{Group: g.id, State: g.state, ProtocolType: g.protocolType, Generation: g.generation,
		LeaderID: g.leader, OwnershipConflicts: g.ownershipConflicts}
	if g.state == Stable {
		d.Protocol = g.protocol
	}
	for _, m := range g.sortedMembers() {
		md := MemberDescription{MemberID: m.id, ClientID: m.clientID, ClientHost: m.clientHost,
			SessionTimeoutMs: m.sessionTimeoutMs, RebalanceTimeoutMs: m.rebalanceTimeoutMs}
		if g.state == Stable {
			md.Metadata = m.metadataFor(g.protocol)
			md.Assignment = m.assignment
		}
		d.Members = append(d.Members, md)
	}
	return d, nil
}

// GroupListing is one group in ListGroups.
type GroupListing struct {
	Group        string
	ProtocolType string
	State        State
}

// ListGroups lists the shard's groups sorted by id.
func (c *Coordinator) ListGroups() []GroupListing {
	ids := c.sortedGroupIDs()
	out := make([]GroupListing, len(ids))
	for i, id := range ids {
		g := c.groups[id]
		out[i] = GroupListing{Group: id, ProtocolType: g.protocolType, State: g.state}
	}
	return out
}

// OwnershipConflicts is the number of partitions given to two or more
// members of one generation, summed over every leader assignment this
// Coordinator applied since New or Restore (consumer protocol only,
// counted only under core.ExpensiveChecks). Kafka accepts whatever the
// leader sends, and so do we; the simulator flags a non-zero count.
func (c *Coordinator) OwnershipConflicts() int { return c.ownershipConflicts }

// consumerOwnershipConflicts decodes each member's assignment as a
// consumer assignment and counts partitions owned by more than one member.
// Undecodable assignments own nothing.
func consumerOwnershipConflicts(g *groupState) int {
	owners := map[TopicPartition]int{}
	for _, m := range g.sortedMembers() {
		if len(m.assignment) == 0 {
			continue
		}
		var a kmsg.ConsumerMemberAssignment
		if a.ReadFrom(m.assignment) != nil {
			continue
		}
		mine := map[TopicPartition]bool{}
		for _, t := range a.Topics {
			for _, p := range t.Partitions {
				mine[TopicPartition{Topic: t.Topic, Partition: p}] = true
			}
		}
		for tp := range mine {
			owners[tp]++
		}
	}
	conflicts := 0
	for _, n := range owners {
		if n > 1 {
			conflicts++
		}
	}
	return conflicts
}

// HasGroups reports whether the shard holds any group. A Tick on a shard
// without groups changes nothing (every timer belongs to a group), so the
// runtime need not propose one.
func (c *Coordinator) HasGroups() bool { return len(c.groups) > 0 }
