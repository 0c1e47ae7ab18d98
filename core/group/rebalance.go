package group

import (
	"fmt"

	"github.com/tidemark/tidemark/core"
)

// maybePrepareRebalance starts a rebalance unless one is under way
// (Kafka's GroupCoordinator.maybePrepareRebalance).
func (c *Coordinator) maybePrepareRebalance(g *groupState, nowMs int64, fx *effects) {
	switch g.state {
	case Stable, CompletingRebalance, Empty:
		c.prepareRebalance(g, nowMs, fx)
	case PreparingRebalance:
	default:
		panic(fmt.Sprintf("invariant violated: rebalance of a live group: group %q is %v", g.id, g.state))
	}
}

// prepareRebalance enters the join phase. Parked SyncGroups of the
// generation being abandoned are answered with RebalanceInProgress (their
// members must rejoin). The join phase ends when every member has
// rejoined, or at the rebalance deadline (the largest rebalance timeout
// among members); a rebalance that starts from Empty first waits
// InitialRebalanceDelayMs for more members and never ends early.
func (c *Coordinator) prepareRebalance(g *groupState, nowMs int64, fx *effects) {
	if g.state == CompletingRebalance {
		for _, m := range g.sortedMembers() {
			if m.awaitingSync {
				m.awaitingSync = false
				m.lastHeardMs = nowMs
				fx.complete(SyncCompletion{Group: g.id, MemberID: m.id, Response: SyncResult{MemberID: m.id,
					Err: core.Errorf(core.RebalanceInProgress, "group %q is rebalancing: rejoin", g.id)}})
			}
		}
	}
	for _, m := range g.members {
		m.pendingSync = false
	}
	rebalanceTimeoutMs := g.maxRebalanceTimeoutMs()
	delayMs := int64(c.cfg.InitialRebalanceDelayMs)
	if g.state == Empty && delayMs > 0 {
		g.initialDelay = true
		g.newMemberAdded = false
		g.joinDeadlineMs = nowMs + delayMs
		g.delayRemainingMs = max(rebalanceTimeoutMs-delayMs, 0)
	} else {
		g.joinDeadlineMs = nowMs + rebalanceTimeoutMs
	}
	g.transition(PreparingRebalance, nowMs)
	c.maybeCompleteJoin(g, nowMs, fx)
}

// maybeCompleteJoin ends the join phase early when nobody else is
// expected: every member has rejoined and no MemberIDRequired id is
// outstanding (Kafka's hasAllMembersJoined). Not during the initial delay.
func (c *Coordinator) maybeCompleteJoin(g *groupState, nowMs int64, fx *effects) {
	if g.state != PreparingRebalance || g.initialDelay || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if !m.awaitingJoin {
			return
		}
	}
	c.completeJoin(g, nowMs, fx)
}

// completeJoin ends the join phase (Kafka's onCompleteJoin): members that
// did not rejoin are removed, the generation advances, the protocol is
// chosen, and every parked JoinGroup is answered. With no members left
// the group becomes Empty (the generation still advances, as in Kafka).
func (c *Coordinator) completeJoin(g *groupState, nowMs int64, fx *effects) {
	for _, m := range g.sortedMembers() {
		if !m.awaitingJoin {
			c.removeMember(g, m, RemovedNotRejoined, nowMs, fx)
		}
	}
	prev := g.generation
	g.generation++
	core.Assert(g.generation > prev, "generation never decreases", "group %q: %d -> %d", g.id, prev, g.generation)
	g.initialDelay = false
	g.newMemberAdded = false
	g.delayRemainingMs = 0
	if len(g.members) == 0 {
		g.protocol = ""
		g.transition(Empty, nowMs)
		return
	}
	g.protocol = g.selectProtocol()
	g.transition(CompletingRebalance, nowMs)
	g.syncDeadlineMs = nowMs + g.maxRebalanceTimeoutMs()
	g.ownershipConflicts = 0
	members := g.joinMembers()
	for _, m := range g.sortedMembers() {
		m.awaitingJoin = false
		m.pendingSync = true
		m.assignment = nil
		m.assignmentGen = 0
		m.lastHeardMs = nowMs
		r := JoinResult{MemberID: m.id, Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, LeaderID: g.leader}
		if m.id == g.leader {
			r.Members = members
		}
		fx.complete(JoinCompletion{Group: g.id, MemberID: m.id, Response: r})
	}
}

// removeMember takes m out of the group without deciding what the group
// does next. A parked JoinGroup or SyncGroup of m is answered with
// UnknownMemberID (what Kafka answers a removed member's JoinGroup: the
// client rejoins as a new member). A leaving leader is replaced by the
// member that has been in the group longest.
func (c *Coordinator) removeMember(g *groupState, m *member, reason RemovalReason, nowMs int64, fx *effects) {
	if m.awaitingJoin {
		fx.complete(JoinCompletion{Group: g.id, MemberID: m.id, Response: joinError(m.id,
			core.Errorf(core.UnknownMemberID, "removed from group %q: %v", g.id, reason))})
	}
	if m.awaitingSync {
		fx.complete(SyncCompletion{Group: g.id, MemberID: m.id, Response: SyncResult{MemberID: m.id,
			Err: core.Errorf(core.UnknownMemberID, "removed from group %q: %v", g.id, reason)}})
	}
	delete(g.members, m.id)
	if g.leader == m.id {
		g.leader = ""
		if first := g.firstJoined(); first != nil {
			g.leader = first.id
		}
	}
	core.Assert(g.leader == "" || g.members[g.leader] != nil, "leader is a member", "group %q leader %q", g.id, g.leader)
	fx.removed = append(fx.removed, RemovedMember{Group: g.id, MemberID: m.id, Reason: reason})
}

// removeMemberAndUpdateGroup removes m and moves the group on: a Stable or
// CompletingRebalance group rebalances; a group in its join phase may now
// have everyone it waits for.
func (c *Coordinator) removeMemberAndUpdateGroup(g *groupState, m *member, reason RemovalReason, nowMs int64, fx *effects) {
	c.removeMember(g, m, reason, nowMs, fx)
	switch g.state {
	case Stable, CompletingRebalance:
		c.prepareRebalance(g, nowMs, fx)
	case PreparingRebalance:
		c.maybeCompleteJoin(g, nowMs, fx)
	default:
		panic(fmt.Sprintf("invariant violated: members only in active states: group %q was %v", g.id, g.state))
	}
}
