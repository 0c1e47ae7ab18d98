package group

import (
	"fmt"
	"maps"
	"slices"

	"github.com/tidemark/tidemark/core"
)

// Coordinator is the state machine of one group-coordinator shard: every
// group that hashes to the shard, their members and committed offsets.
// Each replica of the shard applies the same commands in the same order
// and reaches the same state and outputs; only the shard's Raft leader
// (the groups' coordinator) holds the network requests that outputs
// answer.
//
// A Coordinator is not safe for concurrent use; the runtime applies
// commands and runs queries from one goroutine at a time.
type Coordinator struct {
	cfg    Config
	groups map[string]*groupState
	// seq is the shard-wide sequence member ids and join order draw from.
	// It only grows, so a member id is never handed out twice in the
	// shard's life.
	seq uint64
	// lastNowMs is the latest time applied. Time never goes backwards
	// inside the state machine (see Apply).
	lastNowMs int64
	// ownershipConflicts is a diagnostic (see OwnershipConflicts); not
	// state, not snapshotted.
	ownershipConflicts int
}

// New returns an empty coordinator shard.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Coordinator{cfg: cfg, groups: map[string]*groupState{}}, nil
}

// Config returns the shard's configuration.
func (c *Coordinator) Config() Config { return c.cfg }

// effects collects what one command produces besides its result.
type effects struct {
	completions    []Completion
	removed        []RemovedMember
	expiredOffsets int
	deleted        []string
}

func (fx *effects) complete(c Completion) { fx.completions = append(fx.completions, c) }

// take removes and returns the completion for w added at or after index
// mark. A command whose own request completes in the same step (the last
// member's Join, the leader's Sync) answers itself through its Result, not
// through a completion.
func (fx *effects) take(w Waiter, mark int) (Completion, bool) {
	for i := mark; i < len(fx.completions); i++ {
		if fx.completions[i].Waiter() == w {
			c := fx.completions[i]
			fx.completions = append(fx.completions[:i], fx.completions[i+1:]...)
			return c, true
		}
	}
	return nil, false
}

// Apply applies one command and returns its result and the completions of
// requests parked earlier.
//
// Time: the command's NowMs is its time, except that time never goes
// backwards: a NowMs below the latest one applied (a new proposer whose
// clock is behind) counts as the latest. So deadlines already set never
// move back, and every replica agrees because the rule only reads
// applied commands.
func (c *Coordinator) Apply(cmd Command) Output {
	nowMs := cmd.stampedNowMs()
	if nowMs < c.lastNowMs {
		nowMs = c.lastNowMs
	}
	c.lastNowMs = nowMs

	touched := c.touchedGroups(cmd)
	before := make(map[string]int32, len(touched))
	for _, id := range touched {
		if g := c.groups[id]; g != nil {
			before[id] = g.generation
		}
	}

	fx := &effects{}
	var res Result
	switch x := cmd.(type) {
	case Join:
		res = c.join(x, nowMs, fx)
	case Sync:
		res = c.sync(x, nowMs, fx)
	case Heartbeat:
		res = c.heartbeat(x, nowMs)
	case Leave:
		res = c.leave(x, nowMs, fx)
	case CommitOffsets:
		res = c.commitOffsets(x, nowMs)
	case Tick:
		res = c.tick(nowMs, fx)
	case DeleteGroups:
		res = c.deleteGroups(x, nowMs)
	default:
		panic(fmt.Sprintf("group: Apply of unknown command %T", cmd))
	}

	for _, id := range touched {
		g := c.groups[id]
		if g == nil {
			continue
		}
		if gen, ok := before[id]; ok {
			core.Assert(g.generation >= gen, "generation never decreases", "group %q: %d -> %d", id, gen, g.generation)
		}
		core.Assert((g.leader == "") == (len(g.members) == 0) && (g.leader == "" || g.members[g.leader] != nil),
			"leader is a member", "group %q: leader %q, %d members", id, g.leader, len(g.members))
		if core.ExpensiveChecks {
			err := g.check()
			core.Assert(err == nil, "group state consistent", "%v", err)
		}
	}
	if core.ExpensiveChecks {
		c.checkCompletions(fx.completions)
	}
	return Output{Result: res, Completions: fx.completions}
}

// touchedGroups lists the groups cmd may change.
func (c *Coordinator) touchedGroups(cmd Command) []string {
	switch x := cmd.(type) {
	case Join:
		return []string{x.Group}
	case Sync:
		return []string{x.Group}
	case Heartbeat:
		return []string{x.Group}
	case Leave:
		return []string{x.Group}
	case CommitOffsets:
		return []string{x.Group}
	case Tick:
		return c.sortedGroupIDs()
	case DeleteGroups:
		return x.Groups
	default:
		panic(fmt.Sprintf("group: unknown command %T", cmd))
	}
}

// checkCompletions asserts that one output answers each waiter at most
// once.
func (c *Coordinator) checkCompletions(cs []Completion) {
	seen := make(map[Waiter]bool, len(cs))
	for _, comp := range cs {
		w := comp.Waiter()
		core.Assert(!seen[w], "parked request answered once", "two completions for %+v", w)
		seen[w] = true
	}
}

func (c *Coordinator) sortedGroupIDs() []string {
	return slices.Sorted(maps.Keys(c.groups))
}

// checkGroupID validates a group id from a request.
func (c *Coordinator) checkGroupID(id string) *core.Error {
	if id == "" {
		return core.Errorf(core.InvalidGroupID, "group id is empty")
	}
	if len(id) > c.cfg.MaxNameBytes {
		return core.Errorf(core.InvalidGroupID, "group id of %d bytes over the %d-byte limit", len(id), c.cfg.MaxNameBytes)
	}
	return nil
}

// createGroup adds an Empty group, or reports that the shard is full.
func (c *Coordinator) createGroup(id string, nowMs int64) (*groupState, *core.Error) {
	if len(c.groups) >= c.cfg.MaxGroups {
		return nil, core.Errorf(core.PolicyViolation, "coordinator shard holds %d groups, its limit (MaxGroups): cannot create group %q", len(c.groups), id)
	}
	g := newGroupState(id, nowMs)
	c.groups[id] = g
	return g, nil
}

// newMemberID returns "<clientID>-<16 hex digits>", the digits a fresh
// value of the shard sequence (also returned): unique for the shard's
// life, whatever the client id, because the suffix has a fixed width.
func (c *Coordinator) newMemberID(clientID string) (string, uint64) {
	c.seq++
	return fmt.Sprintf("%s-%016x", clientID, c.seq), c.seq
}

func joinError(memberID string, err *core.Error) JoinResult {
	return JoinResult{Err: err, MemberID: memberID, Generation: -1}
}

func (c *Coordinator) checkJoin(cmd Join) *core.Error {
	if err := c.checkGroupID(cmd.Group); err != nil {
		return err
	}
	if cmd.GroupInstanceID != nil {
		return core.Errorf(core.UnsupportedVersion, "static membership (group.instance.id %q) is not supported", *cmd.GroupInstanceID)
	}
	if cmd.SessionTimeoutMs < c.cfg.MinSessionTimeoutMs || cmd.SessionTimeoutMs > c.cfg.MaxSessionTimeoutMs {
		return core.Errorf(core.InvalidSessionTimeout, "session timeout %dms outside [%d, %d]",
			cmd.SessionTimeoutMs, c.cfg.MinSessionTimeoutMs, c.cfg.MaxSessionTimeoutMs)
	}
	if cmd.RebalanceTimeoutMs < 0 {
		return core.Errorf(core.InvalidRequest, "rebalance timeout %dms is negative", cmd.RebalanceTimeoutMs)
	}
	for _, f := range []struct{ name, v string }{{"client id", cmd.ClientID}, {"client host", cmd.ClientHost}, {"protocol type", cmd.ProtocolType}} {
		if len(f.v) > c.cfg.MaxNameBytes {
			return core.Errorf(core.InvalidRequest, "%s of %d bytes over the %d-byte limit", f.name, len(f.v), c.cfg.MaxNameBytes)
		}
	}
	if cmd.ProtocolType == "" || len(cmd.Protocols) == 0 {
		return core.Errorf(core.InconsistentGroupProtocol, "a member must name a protocol type and at least one protocol")
	}
	if len(cmd.Protocols) > c.cfg.MaxProtocolsPerMember {
		return core.Errorf(core.InvalidRequest, "%d protocols over the limit of %d", len(cmd.Protocols), c.cfg.MaxProtocolsPerMember)
	}
	for _, p := range cmd.Protocols {
		if p.Name == "" || len(p.Name) > c.cfg.MaxNameBytes {
			return core.Errorf(core.InvalidRequest, "protocol name of %d bytes (must be 1 to %d)", len(p.Name), c.cfg.MaxNameBytes)
		}
		if len(p.Metadata) > c.cfg.MaxProtocolMetadataBytes {
			return core.Errorf(core.InvalidRequest, "protocol %q metadata of %d bytes over the %d-byte limit",
				p.Name, len(p.Metadata), c.cfg.MaxProtocolMetadataBytes)
		}
	}
	return nil
}

// ownedProtocols copies ps (command bytes may alias a buffer the runtime
// reuses) and keeps the first of repeated names.
func ownedProtocols(ps []Protocol) []Protocol {
	out := make([]Protocol, 0, len(ps))
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		out = append(out, Protocol{Name: p.Name, Metadata: ownedBytes(p.Metadata)})
	}
	return out
}

func ownedBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func (c *Coordinator) join(cmd Join, nowMs int64, fx *effects) JoinResult {
	if err := c.checkJoin(cmd); err != nil {
		return joinError(cmd.MemberID, err)
	}
	ps := ownedProtocols(cmd.Protocols)
	g := c.groups[cmd.Group]
	if cmd.MemberID == "" {
		return c.joinNew(g, cmd, ps, nowMs, fx)
	}
	if g == nil {
		return joinError(cmd.MemberID, core.Errorf(core.UnknownMemberID, "group %q does not exist", cmd.Group))
	}
	if _, ok := g.pending[cmd.MemberID]; ok {
		return c.joinPending(g, cmd, ps, nowMs, fx)
	}
	m := g.members[cmd.MemberID]
	if m == nil {
		return joinError(cmd.MemberID, core.Errorf(core.UnknownMemberID, "%q is not a member of group %q", cmd.MemberID, cmd.Group))
	}
	return c.joinKnown(g, m, cmd, ps, nowMs, fx)
}

// joinNew handles a JoinGroup without a member id (Kafka's
// doUnknownJoinGroup).
func (c *Coordinator) joinNew(g *groupState, cmd Join, ps []Protocol, nowMs int64, fx *effects) JoinResult {
	if g != nil {
		if !g.supports(cmd.ProtocolType, ps, "") {
			return joinError("", core.Errorf(core.InconsistentGroupProtocol,
				"protocols of type %q share none with group %q's members (type %q)", cmd.ProtocolType, g.id, g.protocolType))
		}
		if len(g.members) >= c.cfg.MaxGroupSize {
			return joinError("", core.Errorf(core.GroupMaxSizeReached, "group %q has %d members, its limit", g.id, len(g.members)))
		}
		if cmd.RequireKnownMemberID && len(g.pending) >= c.cfg.MaxPendingMembersPerGroup {
			return joinError("", core.Errorf(core.GroupMaxSizeReached, "group %q has %d member ids awaiting a rejoin, its limit", g.id, len(g.pending)))
		}
	} else {
		var err *core.Error
		if g, err = c.createGroup(cmd.Group, nowMs); err != nil {
			return joinError("", err)
		}
	}
	id, seq := c.newMemberID(cmd.ClientID)
	if cmd.RequireKnownMemberID {
		// KIP-394: hand out the id first, admit the member when it rejoins
		// with it, so a client that never receives a response does not
		// leave a member behind. The id expires after a session timeout.
		g.pending[id] = nowMs + int64(cmd.SessionTimeoutMs)
		return JoinResult{Err: core.Errorf(core.MemberIDRequired, "rejoin with the assigned member id"), MemberID: id, Generation: -1}
	}
	return c.addMemberAndRebalance(g, id, seq, cmd, ps, nowMs, fx)
}

// joinPending admits a member rejoining with an id from MemberIDRequired.
func (c *Coordinator) joinPending(g *groupState, cmd Join, ps []Protocol, nowMs int64, fx *effects) JoinResult {
	if !g.supports(cmd.ProtocolType, ps, "") {
		return joinError(cmd.MemberID, core.Errorf(core.InconsistentGroupProtocol,
			"protocols of type %q share none with group %q's members (type %q)", cmd.ProtocolType, g.id, g.protocolType))
	}
	delete(g.pending, cmd.MemberID)
	if len(g.members) >= c.cfg.MaxGroupSize {
		// The pending id is spent: it no longer holds up the join phase.
		c.maybeCompleteJoin(g, nowMs, fx)
		return joinError(cmd.MemberID, core.Errorf(core.GroupMaxSizeReached, "group %q has %d members, its limit", g.id, len(g.members)))
	}
	c.seq++
	return c.addMemberAndRebalance(g, cmd.MemberID, c.seq, cmd, ps, nowMs, fx)
}

// joinKnown handles a JoinGroup from a current member (Kafka's
// doCurrentMemberJoinGroup).
func (c *Coordinator) joinKnown(g *groupState, m *member, cmd Join, ps []Protocol, nowMs int64, fx *effects) JoinResult {
	if !g.supports(cmd.ProtocolType, ps, m.id) {
		return joinError(m.id, core.Errorf(core.InconsistentGroupProtocol,
			"protocols of type %q share none with the other members of group %q (type %q)", cmd.ProtocolType, g.id, g.protocolType))
	}
	m.lastHeardMs = nowMs
	// A sole member may change its protocol type (supports allowed it).
	unchanged := m.matches(ps) && cmd.ProtocolType == g.protocolType
	switch g.state {
	case PreparingRebalance:
		return c.updateMemberAndRebalance(g, m, cmd, ps, nowMs, fx)
	case CompletingRebalance:
		// Same metadata: the member probably lost the JoinGroup response;
		// give it the current generation again.
		if unchanged {
			return g.currentGeneration(m)
		}
		return c.updateMemberAndRebalance(g, m, cmd, ps, nowMs, fx)
	case Stable:
		// A rejoining leader forces a rebalance: that is how a consumer
		// leader reacts to metadata changes its members' subscriptions do
		// not show (new partitions).
		if m.id == g.leader || !unchanged {
			return c.updateMemberAndRebalance(g, m, cmd, ps, nowMs, fx)
		}
		return g.currentGeneration(m)
	default:
		panic(fmt.Sprintf("invariant violated: members only in active states: group %q is %v with member %q", g.id, g.state, m.id))
	}
}

// currentGeneration is the JoinGroup response for the current generation
// without a rebalance.
func (g *groupState) currentGeneration(m *member) JoinResult {
	r := JoinResult{MemberID: m.id, Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, LeaderID: g.leader}
	if m.id == g.leader {
		r.Members = g.joinMembers()
	}
	return r
}

// addMemberAndRebalance admits a new member; joinSeq is a fresh value of
// the shard sequence.
func (c *Coordinator) addMemberAndRebalance(g *groupState, id string, joinSeq uint64, cmd Join, ps []Protocol, nowMs int64, fx *effects) JoinResult {
	m := &member{
		id:                 id,
		joinSeq:            joinSeq,
		clientID:           cmd.ClientID,
		clientHost:         cmd.ClientHost,
		sessionTimeoutMs:   cmd.SessionTimeoutMs,
		rebalanceTimeoutMs: cmd.RebalanceTimeoutMs,
		protocols:          ps,
		awaitingJoin:       true,
		lastHeardMs:        nowMs,
	}
	if g.state == PreparingRebalance && g.initialDelay {
		g.newMemberAdded = true
	}
	if len(g.members) == 0 {
		g.protocolType = cmd.ProtocolType
		g.leader = id
	}
	g.members[id] = m
	mark := len(fx.completions)
	c.maybePrepareRebalance(g, nowMs, fx)
	c.maybeCompleteJoin(g, nowMs, fx)
	return c.joinOutcome(g, m, mark, fx)
}

func (c *Coordinator) updateMemberAndRebalance(g *groupState, m *member, cmd Join, ps []Protocol, nowMs int64, fx *effects) JoinResult {
	if m.awaitingJoin {
		// The member re-sent JoinGroup while one is parked (a client retry
		// after a timeout). Answer the old request so no waiter is left
		// behind; the new one takes its place.
		fx.complete(JoinCompletion{Group: g.id, MemberID: m.id, Response: joinError(m.id,
			core.Errorf(core.RebalanceInProgress, "superseded by a newer JoinGroup from the same member"))})
	}
	m.protocols = ps
	m.sessionTimeoutMs = cmd.SessionTimeoutMs
	m.rebalanceTimeoutMs = cmd.RebalanceTimeoutMs
	if len(g.members) == 1 {
		g.protocolType = cmd.ProtocolType
	}
	m.awaitingJoin = true
	mark := len(fx.completions)
	c.maybePrepareRebalance(g, nowMs, fx)
	c.maybeCompleteJoin(g, nowMs, fx)
	return c.joinOutcome(g, m, mark, fx)
}

// joinOutcome is the result of a Join that left m awaiting: parked, or,
// when this very Join completed the join phase, the member's response.
func (c *Coordinator) joinOutcome(g *groupState, m *member, mark int, fx *effects) JoinResult {
	if m.awaitingJoin {
		return JoinResult{Parked: true, MemberID: m.id, Generation: -1}
	}
	comp, ok := fx.take(Waiter{Group: g.id, MemberID: m.id, Kind: WaitJoin}, mark)
	core.Assert(ok, "completed join answers the joiner", "group %q member %q", g.id, m.id)
	return comp.(JoinCompletion).Response
}

func (c *Coordinator) sync(cmd Sync, nowMs int64, fx *effects) SyncResult {
	fail := func(err *core.Error) SyncResult { return SyncResult{Err: err, MemberID: cmd.MemberID} }
	if err := c.checkGroupID(cmd.Group); err != nil {
		return fail(err)
	}
	g, m, err := c.currentMember(cmd.Group, cmd.MemberID, cmd.Generation)
	if err != nil {
		return fail(err)
	}
	switch g.state {
	case PreparingRebalance:
		return fail(core.Errorf(core.RebalanceInProgress, "group %q is rebalancing: rejoin", g.id))
	case CompletingRebalance:
		isLeader := m.id == g.leader
		var assignments map[string][]byte
		if isLeader {
			if len(cmd.Assignments) > c.cfg.MaxGroupSize {
				return fail(core.Errorf(core.InvalidRequest, "%d assignments for a group of at most %d members", len(cmd.Assignments), c.cfg.MaxGroupSize))
			}
			assignments = make(map[string][]byte, len(cmd.Assignments))
			for _, a := range cmd.Assignments {
				if len(a.Assignment) > c.cfg.MaxAssignmentBytes {
					return fail(core.Errorf(core.InvalidRequest, "assignment for %q of %d bytes over the %d-byte limit",
						a.MemberID, len(a.Assignment), c.cfg.MaxAssignmentBytes))
				}
				// A repeated member id: the last one wins, as in Kafka.
				assignments[a.MemberID] = a.Assignment
			}
		}
		m.lastHeardMs = nowMs
		g.syncReceived(m)
		if m.awaitingSync {
			fx.complete(SyncCompletion{Group: g.id, MemberID: m.id, Response: SyncResult{MemberID: m.id,
				Err: core.Errorf(core.RebalanceInProgress, "superseded by a newer SyncGroup from the same member")}})
		}
		m.awaitingSync = true
		if !isLeader {
			return SyncResult{Parked: true, MemberID: m.id}
		}
		mark := len(fx.completions)
		c.setAndPropagateAssignment(g, assignments, nowMs, fx)
		comp, ok := fx.take(Waiter{Group: g.id, MemberID: m.id, Kind: WaitSync}, mark)
		core.Assert(ok, "leader's sync answers the leader", "group %q member %q", g.id, m.id)
		return comp.(SyncCompletion).Response
	case Stable:
		m.lastHeardMs = nowMs
		g.syncReceived(m)
		return SyncResult{MemberID: m.id, ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment}
	default:
		panic(fmt.Sprintf("invariant violated: members only in active states: group %q is %v with member %q", g.id, g.state, m.id))
	}
}

// syncReceived records that m sent SyncGroup for the current generation.
func (g *groupState) syncReceived(m *member) {
	m.pendingSync = false
}

// setAndPropagateAssignment stores the leader's assignments (an empty one
// for a member the leader left out; entries for non-members are ignored),
// answers every parked SyncGroup, and makes the group Stable.
func (c *Coordinator) setAndPropagateAssignment(g *groupState, assignments map[string][]byte, nowMs int64, fx *effects) {
	for _, m := range g.sortedMembers() {
		m.assignment = ownedBytes(assignments[m.id])
		m.assignmentGen = g.generation
		if m.awaitingSync {
			m.awaitingSync = false
			m.lastHeardMs = nowMs
			fx.complete(SyncCompletion{Group: g.id, MemberID: m.id, Response: SyncResult{
				MemberID: m.id, ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment}})
		}
	}
	g.transition(Stable, nowMs)
	for _, m := range g.members {
		core.Assert(m.assignmentGen == g.generation, "stable members have assignments",
			"group %q member %q assignment of generation %d, group at %d", g.id, m.id, m.assignmentGen, g.generation)
	}
	if core.ExpensiveChecks && g.protocolType == "consumer" {
		g.ownershipConflicts = consumerOwnershipConflicts(g)
		c.ownershipConflicts += g.ownershipConflicts
	}
}

// currentMember finds the member a Sync, Heartbeat or CommitOffsets names,
// or returns the error Kafka gives such a request: UNKNOWN_MEMBER_ID for a
// missing group or member, ILLEGAL_GENERATION for another generation.
func (c *Coordinator) currentMember(groupID, memberID string, generation int32) (*groupState, *member, *core.Error) {
	g := c.groups[groupID]
	if g == nil {
		return nil, nil, core.Errorf(core.UnknownMemberID, "group %q does not exist", groupID)
	}
	m := g.members[memberID]
	if m == nil {
		return nil, nil, core.Errorf(core.UnknownMemberID, "%q is not a member of group %q", memberID, groupID)
	}
	if generation != g.generation {
		return nil, nil, core.Errorf(core.IllegalGeneration, "generation %d, group %q is at %d", generation, g.id, g.generation)
	}
	return g, m, nil
}

func (c *Coordinator) heartbeat(cmd Heartbeat, nowMs int64) HeartbeatResult {
	fail := func(err *core.Error) HeartbeatResult { return HeartbeatResult{Err: err} }
	if err := c.checkGroupID(cmd.Group); err != nil {
		return fail(err)
	}
	g, m, err := c.currentMember(cmd.Group, cmd.MemberID, cmd.Generation)
	if err != nil {
		return fail(err)
	}
	m.lastHeardMs = nowMs
	switch g.state {
	case Stable, CompletingRebalance:
		return HeartbeatResult{}
	case PreparingRebalance:
		return fail(core.Errorf(core.RebalanceInProgress, "group %q is rebalancing: rejoin", g.id))
	default:
		panic(fmt.Sprintf("invariant violated: members only in active states: group %q is %v with member %q", g.id, g.state, m.id))
	}
}

func (c *Coordinator) leave(cmd Leave, nowMs int64, fx *effects) LeaveResult {
	if err := c.checkGroupID(cmd.Group); err != nil {
		return LeaveResult{Err: err}
	}
	g := c.groups[cmd.Group]
	res := LeaveResult{Members: make([]MemberError, len(cmd.MemberIDs))}
	pendingLeft := false
	for i, id := range cmd.MemberIDs {
		res.Members[i].MemberID = id
		if g == nil {
			res.Members[i].Err = core.Errorf(core.UnknownMemberID, "group %q does not exist", cmd.Group)
			continue
		}
		if _, ok := g.pending[id]; ok {
			delete(g.pending, id)
			pendingLeft = true
			continue
		}
		m := g.members[id]
		if m == nil {
			res.Members[i].Err = core.Errorf(core.UnknownMemberID, "%q is not a member of group %q", id, cmd.Group)
			continue
		}
		c.removeMemberAndUpdateGroup(g, m, RemovedLeft, nowMs, fx)
	}
	if pendingLeft {
		c.maybeCompleteJoin(g, nowMs, fx)
	}
	return res
}

func (c *Coordinator) deleteGroups(cmd DeleteGroups, nowMs int64) DeleteGroupsResult {
	res := DeleteGroupsResult{Groups: make([]GroupError, len(cmd.Groups))}
	for i, id := range cmd.Groups {
		res.Groups[i].Group = id
		if err := c.checkGroupID(id); err != nil {
			res.Groups[i].Err = err
			continue
		}
		g := c.groups[id]
		switch {
		case g == nil:
			res.Groups[i].Err = core.Errorf(core.GroupIDNotFound, "group %q does not exist", id)
		case g.state != Empty:
			res.Groups[i].Err = core.Errorf(core.NonEmptyGroup, "group %q is %v with %d members", id, g.state, len(g.members))
		default:
			c.removeGroup(g, nowMs)
		}
	}
	return res
}

// removeGroup deletes an Empty group with its offsets and pending ids.
func (c *Coordinator) removeGroup(g *groupState, nowMs int64) {
	g.transition(Dead, nowMs)
	delete(c.groups, g.id)
}

func (c *Coordinator) tick(nowMs int64, fx *effects) TickResult {
	for _, id := range c.sortedGroupIDs() {
		c.tickGroup(c.groups[id], nowMs, fx)
	}
	return TickResult{RemovedMembers: fx.removed, ExpiredOffsets: fx.expiredOffsets, DeletedGroups: fx.deleted}
}

func (c *Coordinator) tickGroup(g *groupState, nowMs int64, fx *effects) {
	// Member ids handed out with MemberIDRequired and never used.
	pendingExpired := false
	for _, id := range g.sortedPending() {
		if nowMs >= g.pending[id] {
			delete(g.pending, id)
			fx.removed = append(fx.removed, RemovedMember{Group: g.id, MemberID: id, Reason: RemovedPendingExpired})
			pendingExpired = true
		}
	}
	if pendingExpired {
		c.maybeCompleteJoin(g, nowMs, fx)
	}

	// Sessions. A member with a parked request is not expected to
	// heartbeat: the rebalance deadline governs a parked Join, the sync
	// deadline a parked Sync (through the leader, who has not synced).
	for _, m := range g.sortedMembers() {
		if g.members[m.id] != m || m.awaitingJoin || m.awaitingSync {
			continue
		}
		if nowMs >= m.lastHeardMs+int64(m.sessionTimeoutMs) {
			c.removeMemberAndUpdateGroup(g, m, RemovedSessionExpired, nowMs, fx)
		}
	}

	// The join phase's delay window or deadline.
	if g.state == PreparingRebalance && nowMs >= g.joinDeadlineMs {
		if g.initialDelay && g.newMemberAdded && g.delayRemainingMs > 0 {
			// Someone joined during the window: wait another one, within
			// the rebalance timeout (Kafka's InitialDelayedJoin).
			d := min(int64(c.cfg.InitialRebalanceDelayMs), g.delayRemainingMs)
			g.delayRemainingMs -= d
			g.newMemberAdded = false
			g.joinDeadlineMs += d
		}
		if nowMs >= g.joinDeadlineMs {
			c.completeJoin(g, nowMs, fx)
		}
	}

	// Members that never sent SyncGroup for this generation.
	if (g.state == CompletingRebalance || g.state == Stable) && nowMs >= g.syncDeadlineMs {
		removed := false
		for _, m := range g.sortedMembers() {
			if m.pendingSync {
				c.removeMember(g, m, RemovedNotSynced, nowMs, fx)
				removed = true
			}
		}
		if removed {
			c.prepareRebalance(g, nowMs, fx)
		}
	}

	if g.state == Empty {
		c.expireOffsets(g, nowMs, fx)
		if len(g.offsets) == 0 && len(g.pending) == 0 {
			c.removeGroup(g, nowMs)
			fx.deleted = append(fx.deleted, g.id)
		}
	}
}
