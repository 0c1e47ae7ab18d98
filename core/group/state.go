package group

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/tidemark/tidemark/core"
)

// State is a group's state, named as Kafka's GroupMetadata names them.
type State uint8

const (
	// Empty: no members. The group may still hold offsets and pending
	// member ids.
	Empty State = 1
	// PreparingRebalance: the join phase. Members must (re)join; their
	// JoinGroups are parked until all have or the deadline passes.
	PreparingRebalance State = 2
	// CompletingRebalance: the join phase completed with a new generation;
	// waiting for the leader's SyncGroup (followers' are parked).
	CompletingRebalance State = 3
	// Stable: every member has its assignment for the current generation.
	Stable State = 4
	// Dead: the group does not exist (deleted, or never created). A Dead
	// group is removed from the coordinator at once; DescribeGroup reports
	// Dead for a group it does not hold, as Kafka does.
	Dead State = 5
)

func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	case Dead:
		return "Dead"
	default:
		return fmt.Sprintf("State(%d)", uint8(s))
	}
}

// validPrevious lists, per state, the states a group may enter it from
// (Kafka's GroupState.validPreviousStates).
func validPrevious(to, from State) bool {
	switch to {
	case PreparingRebalance:
		return from == Stable || from == CompletingRebalance || from == Empty
	case CompletingRebalance:
		return from == PreparingRebalance
	case Stable:
		return from == CompletingRebalance
	case Empty:
		return from == PreparingRebalance
	case Dead:
		return from == Stable || from == PreparingRebalance || from == CompletingRebalance || from == Empty || from == Dead
	default:
		return false
	}
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func lessTP(a, b TopicPartition) bool {
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	return a.Partition < b.Partition
}

type committedOffset struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitMs    int64
	topicID     [16]byte // zero when the commit carried none
}

type member struct {
	id string
	// joinSeq orders members by when they entered the group (a value of
	// the shard-wide sequence): the leader is re-elected as the member with
	// the smallest, and the leader's member list follows it.
	joinSeq            uint64
	clientID           string
	clientHost         string
	sessionTimeoutMs   int32
	rebalanceTimeoutMs int32
	// protocols in the member's order of preference, names unique.
	protocols []Protocol
	// awaitingJoin: a JoinGroup from this member is parked (only in
	// PreparingRebalance). awaitingSync: a SyncGroup is parked (only in
	// CompletingRebalance). The runtime holds the requests; the fact that
	// they wait is state.
	awaitingJoin bool
	awaitingSync bool
	// pendingSync: the member has not sent SyncGroup for the current
	// generation (CompletingRebalance and Stable only).
	pendingSync bool
	assignment  []byte
	// assignmentGen is the generation whose leader SyncGroup set
	// assignment; 0 when none (generations start at 1).
	assignmentGen int32
	lastHeardMs   int64
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func (m *member) supports(protocol string) bool {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return true
		}
	}
	return false
}

// matches reports whether ps equals the member's protocols, order and
// metadata included (Kafka's MemberMetadata.matches).
func (m *member) matches(ps []Protocol) bool {
	if len(ps) != len(m.protocols) {
		return false
	}
	for i := range ps {
		if ps[i].Name != m.protocols[i].Name || !bytes.Equal(ps[i].Metadata, m.protocols[i].Metadata) {
			return false
		}
	}
	return true
}

type groupState struct {
	id    string
	state State
	// stateSinceMs is when the group entered its state; offsets of an
	// Empty group expire relative to it.
	stateSinceMs int64
	// protocolType is the members' protocol type ("consumer", "connect");
	// kept while Empty for DescribeGroup, replaced by the next first member.
	protocolType string
	// protocol is the protocol chosen for the current generation; "" when
	// Empty or before the first join completes.
	protocol   string
	generation int32
	// leader is a member id, "" exactly when there are no members.
	leader  string
	members map[string]*member
	// pending maps member ids handed out with MemberIDRequired to the time
	// they expire.
	pending map[string]int64

	// Join phase (PreparingRebalance). joinDeadlineMs is when the join
	// completes at the latest: the end of the current initial-delay window
	// when initialDelay, else the rebalance deadline. While initialDelay,
	// the join never completes early; a window in which newMemberAdded
	// became true is followed by another of min(delay, delayRemainingMs).
	joinDeadlineMs   int64
	initialDelay     bool
	delayRemainingMs int64
	newMemberAdded   bool

	// syncDeadlineMs: in CompletingRebalance and Stable, members still
	// pendingSync at this time are removed. Meaningless when none is.
	syncDeadlineMs int64

	offsets map[TopicPartition]committedOffset

	// ownershipConflicts counts partitions the current generation's leader
	// assigned to more than one member (consumer protocol, computed only
	// under core.ExpensiveChecks). A diagnostic, not state: it is neither
	// snapshotted nor hashed.
	ownershipConflicts int
}

func newGroupState(id string, nowMs int64) *groupState {
	return &groupState{
		id:           id,
		state:        Empty,
		stateSinceMs: nowMs,
		members:      map[string]*member{},
		pending:      map[string]int64{},
		offsets:      map[TopicPartition]committedOffset{},
	}
}

// transition moves the group to state to, asserting Kafka's allowed
// transitions.
func (g *groupState) transition(to State, nowMs int64) {
	core.Assert(validPrevious(to, g.state), "valid group state transition",
		"group %q: %v -> %v", g.id, g.state, to)
	g.state = to
	g.stateSinceMs = nowMs
}

// sortedMembers returns the members in join order.
func (g *groupState) sortedMembers() []*member {
	ms := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].joinSeq < ms[j].joinSeq })
	return ms
}

func (g *groupState) sortedPending() []string {
	return slices.Sorted(maps.Keys(g.pending))
}

func (g *groupState) sortedOffsets() []TopicPartition {
	tps := make([]TopicPartition, 0, len(g.offsets))
	for tp := range g.offsets {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return lessTP(tps[i], tps[j]) })
	return tps
}

// maxRebalanceTimeoutMs is the group's rebalance timeout: the largest of
// its members' (Kafka's GroupMetadata.rebalanceTimeoutMs).
func (g *groupState) maxRebalanceTimeoutMs() int64 {
	var max int32
	for _, m := range g.members {
		if m.rebalanceTimeoutMs > max {
			max = m.rebalanceTimeoutMs
		}
	}
	return int64(max)
}

// firstJoined returns the member with the smallest joinSeq, or nil.
func (g *groupState) firstJoined() *member {
	var first *member
	for _, m := range g.members {
		if first == nil || m.joinSeq < first.joinSeq {
			first = m
		}
	}
	return first
}

// supports reports whether a member offering protocolType and ps may
// join: with no other members, anything goes (Join has checked that both
// are non-empty); otherwise the type must be the group's and some protocol
// in ps must be supported by every other member. self is the joining
// member's own id ("" for a new one): its old protocols do not count.
func (g *groupState) supports(protocolType string, ps []Protocol, self string) bool {
	others := len(g.members)
	if _, ok := g.members[self]; ok {
		others--
	}
	if others == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range ps {
		all := true
		for id, m := range g.members {
			if id != self && !m.supports(p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol for a new generation as Kafka does:
// among the protocols every member supports, each member votes for the
// first in its preference order, and the most votes win. Ties go to the
// lexicographically smallest name (Kafka leaves them to hash-map order).
func (g *groupState) selectProtocol() string {
	ms := g.sortedMembers()
	core.Assert(len(ms) > 0, "protocol selected with members", "group %q has no members", g.id)
	candidate := func(name string) bool {
		for _, m := range ms {
			if !m.supports(name) {
				return false
			}
		}
		return true
	}
	votes := map[string]int{}
	for _, m := range ms {
		for _, p := range m.protocols {
			if candidate(p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best, bestVotes := "", 0
	for name, n := range votes {
		if n > bestVotes || (n == bestVotes && name < best) {
			best, bestVotes = name, n
		}
	}
	core.Assert(best != "", "members share a protocol", "group %q: no protocol common to all members", g.id)
	return best
}

// joinMembers is the member list the leader's JoinGroup response carries.
func (g *groupState) joinMembers() []JoinMember {
	ms := g.sortedMembers()
	out := make([]JoinMember, len(ms))
	for i, m := range ms {
		out[i] = JoinMember{MemberID: m.id, Metadata: m.metadataFor(g.protocol)}
	}
	return out
}

// check verifies the group's structural invariants; it is what Restore
// accepts and what every transition must preserve. It is O(members ×
// protocols), so Apply runs it only under core.ExpensiveChecks.
func (g *groupState) check() error {
	if g.id == "" {
		return fmt.Errorf("group with empty id")
	}
	if g.state < Empty || g.state > Stable {
		return fmt.Errorf("group %q: state %v", g.id, g.state)
	}
	if g.generation < 0 || g.generation == math.MaxInt32 {
		return fmt.Errorf("group %q: generation %d out of range", g.id, g.generation)
	}
	if (len(g.members) == 0) != (g.leader == "") {
		return fmt.Errorf("group %q: leader %q with %d members", g.id, g.leader, len(g.members))
	}
	if g.leader != "" && g.members[g.leader] == nil {
		return fmt.Errorf("group %q: leader %q is not a member", g.id, g.leader)
	}
	if g.state == Empty && len(g.members) > 0 {
		return fmt.Errorf("group %q: Empty with %d members", g.id, len(g.members))
	}
	if (g.state == CompletingRebalance || g.state == Stable) && (len(g.members) == 0 || g.protocol == "" || g.generation == 0) {
		return fmt.Errorf("group %q: %v with %d members, protocol %q, generation %d", g.id, g.state, len(g.members), g.protocol, g.generation)
	}
	if len(g.members) > 0 && g.protocolType == "" {
		return fmt.Errorf("group %q: members without a protocol type", g.id)
	}
	if g.state != PreparingRebalance && (g.initialDelay || g.newMemberAdded || g.delayRemainingMs != 0) {
		return fmt.Errorf("group %q: initial-delay fields set in %v", g.id, g.state)
	}
	if g.delayRemainingMs < 0 {
		return fmt.Errorf("group %q: negative remaining delay", g.id)
	}
	seqs := map[uint64]bool{}
	for id, m := range g.members {
		if id != m.id || id == "" {
			return fmt.Errorf("group %q: member keyed %q has id %q", g.id, id, m.id)
		}
		if _, ok := g.pending[id]; ok {
			return fmt.Errorf("group %q: %q both member and pending", g.id, id)
		}
		if seqs[m.joinSeq] {
			return fmt.Errorf("group %q: two members with join sequence %d", g.id, m.joinSeq)
		}
		seqs[m.joinSeq] = true
		if len(m.protocols) == 0 {
			return fmt.Errorf("group %q: member %q without protocols", g.id, id)
		}
		names := map[string]bool{}
		for _, p := range m.protocols {
			if p.Name == "" || names[p.Name] {
				return fmt.Errorf("group %q: member %q has an empty or repeated protocol %q", g.id, id, p.Name)
			}
			names[p.Name] = true
		}
		if m.awaitingJoin && g.state != PreparingRebalance {
			return fmt.Errorf("group %q: member %q awaits join in %v", g.id, id, g.state)
		}
		if m.awaitingSync && g.state != CompletingRebalance {
			return fmt.Errorf("group %q: member %q awaits sync in %v", g.id, id, g.state)
		}
		if m.awaitingSync && m.pendingSync {
			return fmt.Errorf("group %q: member %q both awaits sync and has not sent it", g.id, id)
		}
		if m.pendingSync && g.state != CompletingRebalance && g.state != Stable {
			return fmt.Errorf("group %q: member %q pending sync in %v", g.id, id, g.state)
		}
		if m.assignmentGen < 0 || m.assignmentGen > g.generation {
			return fmt.Errorf("group %q: member %q assignment of generation %d, group at %d", g.id, id, m.assignmentGen, g.generation)
		}
		if g.state == Stable && m.assignmentGen != g.generation {
			return fmt.Errorf("group %q: Stable but member %q has no assignment for generation %d", g.id, id, g.generation)
		}
		if g.protocol != "" && g.state != PreparingRebalance && !m.supports(g.protocol) {
			return fmt.Errorf("group %q: member %q does not support protocol %q", g.id, id, g.protocol)
		}
	}
	if len(g.members) > 0 && !g.sharesProtocol() {
		return fmt.Errorf("group %q: members share no protocol", g.id)
	}
	for id := range g.pending {
		if id == "" {
			return fmt.Errorf("group %q: empty pending member id", g.id)
		}
	}
	return nil
}

// sharesProtocol reports whether some protocol is supported by every
// member: Join admits only members that keep this true.
func (g *groupState) sharesProtocol() bool {
	first := g.firstJoined()
	for _, p := range first.protocols {
		all := true
		for _, m := range g.members {
			if !m.supports(p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
