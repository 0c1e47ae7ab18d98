package group

import (
	"bytes"
	"flag"
	"fmt"
	"sort"
	"testing"

	"github.com/tidemark/tidemark/core"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// The topics simulated consumers subscribe to, with their partition counts.
var simTopics = map[string]int32{"orders": 3, "payments": 2, "audit": 1}

var simTopicNames = []string{"audit", "orders", "payments"}

type clientPhase int

const (
	phaseIdle       clientPhase = iota // must (re)join
	phaseJoinParked                    // a Join is parked
	phaseJoined                        // has a generation, must sync
	phaseSyncParked                    // a Sync is parked
	phaseStable                        // has its assignment
)

// simClient is a consumer as real clients behave: it joins with its
// subscription, runs the range assignor when it leads, syncs, heartbeats,
// commits what it owns and leaves.
type simClient struct {
	clientID   string
	topics     []string
	protocols  []string
	memberID   string
	generation int32
	leaderID   string
	members    []JoinMember
	phase      clientPhase
	owned      []TopicPartition
}

// groupModel drives one coordinator (and, after a checkpoint, a shadow
// restored from its snapshot) and checks the properties after every step.
type groupModel struct {
	cfg     Config
	c       *Coordinator
	shadow  *Coordinator
	nowMs   int64
	clients []*simClient
	// byMember maps every member id ever handed out to its client.
	byMember map[string]*simClient
	// waiting holds the parked requests not yet answered.
	waiting map[Waiter]bool
	// owners[generation][partition] is the member that a successful sync
	// of that generation gave the partition to.
	owners  map[int32]map[TopicPartition]string
	lastGen int32
}

const simGroup = "g"

func newGroupModel(t *rapid.T) *groupModel {
	cfg := DefaultConfig()
	cfg.InitialRebalanceDelayMs = int32(rapid.SampledFrom([]int{0, 3000}).Draw(t, "initialDelayMs"))
	cfg.MaxGroupSize = rapid.IntRange(2, 6).Draw(t, "maxGroupSize")
	cfg.OffsetsRetentionMs = 60000
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	m := &groupModel{cfg: cfg, c: c, byMember: map[string]*simClient{}, waiting: map[Waiter]bool{},
		owners: map[int32]map[TopicPartition]string{}}
	n := rapid.IntRange(1, 5).Draw(t, "clients")
	for i := 0; i < n; i++ {
		topics := rapid.SliceOfNDistinct(rapid.SampledFrom(simTopicNames), 1, 3, rapid.ID[string]).Draw(t, fmt.Sprintf("topics%d", i))
		sort.Strings(topics)
		protos := []string{"range"}
		if rapid.Bool().Draw(t, fmt.Sprintf("roundrobinFirst%d", i)) {
			protos = []string{"roundrobin", "range"}
		}
		m.clients = append(m.clients, &simClient{clientID: fmt.Sprintf("c%d", i), topics: topics, protocols: protos})
	}
	return m
}

// apply runs cmd on the coordinator and the shadow (through the command
// encoding), compares them, and checks the parked-request bookkeeping.
// It returns the output after handing completions to their clients.
func (m *groupModel) apply(t *rapid.T, cmd Command) Output {
	enc := EncodeCommand(cmd)
	dec, err := DecodeCommand(enc)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	out := m.c.Apply(dec)
	oenc := EncodeOutput(out)
	if back, err := DecodeOutput(oenc); err != nil || !bytes.Equal(EncodeOutput(back), oenc) {
		t.Fatalf("output does not survive its encoding: %v", err)
	}
	if m.shadow != nil {
		sout := m.shadow.Apply(dec)
		if !bytes.Equal(EncodeOutput(sout), oenc) {
			t.Fatalf("restored shadow answered %s\nwant %s", fmtOutput(sout), fmtOutput(out))
		}
		if m.shadow.StateHash() != m.c.StateHash() {
			t.Fatalf("restored shadow's state hash differs after %T", cmd)
		}
	}
	// Completions answer earlier parked requests, each exactly once.
	for _, comp := range out.Completions {
		w := comp.Waiter()
		if !m.waiting[w] {
			t.Fatalf("completion for %+v, which is not parked (answered twice, or never parked)", w)
		}
		delete(m.waiting, w)
		coverage.completions++
		switch x := comp.(type) {
		case JoinCompletion:
			m.onJoin(t, x.MemberID, x.Response)
		case SyncCompletion:
			m.onSync(t, x.MemberID, x.Response)
		}
	}
	return out
}

func (m *groupModel) park(t *rapid.T, w Waiter) {
	if m.waiting[w] {
		t.Fatalf("%+v parked while an earlier request waits under the same name", w)
	}
	coverage.parked++
	m.waiting[w] = true
}

func (m *groupModel) clientOf(memberID string) *simClient {
	cl := m.byMember[memberID]
	if cl == nil || cl.memberID != memberID {
		return nil // a member the client has since given up on
	}
	return cl
}

func (m *groupModel) onJoin(t *rapid.T, memberID string, r JoinResult) {
	cl := m.clientOf(memberID)
	if cl == nil {
		return
	}
	switch {
	case r.Err == nil && !r.Parked:
		cl.generation, cl.leaderID, cl.members, cl.phase = r.Generation, r.LeaderID, r.Members, phaseJoined
		if (r.Members != nil) != (r.LeaderID == memberID) {
			t.Fatalf("join response of %s: member list %v but leader %s", memberID, r.Members != nil, r.LeaderID)
		}
	case core.CodeOf(r.Err) == core.UnknownMemberID:
		cl.memberID, cl.phase = "", phaseIdle
	default:
		cl.phase = phaseIdle
	}
}

func (m *groupModel) onSync(t *rapid.T, memberID string, r SyncResult) {
	cl := m.clientOf(memberID)
	if cl == nil {
		return
	}
	switch {
	case r.Err == nil:
		cl.owned = decodeOwned(t, r.Assignment)
		cl.phase = phaseStable
		gen := cl.generation
		if m.owners[gen] == nil {
			m.owners[gen] = map[TopicPartition]string{}
		}
		for _, tp := range cl.owned {
			if other, ok := m.owners[gen][tp]; ok && other != memberID {
				t.Fatalf("generation %d: %s/%d owned by %s and %s", gen, tp.Topic, tp.Partition, other, memberID)
			}
			m.owners[gen][tp] = memberID
		}
	case core.CodeOf(r.Err) == core.UnknownMemberID:
		cl.memberID, cl.phase = "", phaseIdle
	default:
		cl.phase = phaseIdle
	}
}

func decodeOwned(t *rapid.T, b []byte) []TopicPartition {
	if len(b) == 0 {
		return nil
	}
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(b); err != nil {
		t.Fatalf("undecodable assignment: %v", err)
	}
	var out []TopicPartition
	for _, tp := range a.Topics {
		for _, p := range tp.Partitions {
			out = append(out, TopicPartition{Topic: tp.Topic, Partition: p})
		}
	}
	return out
}

func subscription(topics []string) []byte {
	md := kmsg.NewConsumerMemberMetadata()
	md.Version = 0
	md.Topics = topics
	return md.AppendTo(nil)
}

// rangeAssign is Kafka's RangeAssignor: per topic, the members subscribed
// to it, sorted by id, each take a contiguous range; the first
// partitions%members take one more.
func rangeAssign(t *rapid.T, members []JoinMember) []MemberAssignment {
	byTopic := map[string][]string{}
	for _, jm := range members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(jm.Metadata); err != nil {
			t.Fatalf("leader cannot read %s's subscription: %v", jm.MemberID, err)
		}
		for _, topic := range md.Topics {
			byTopic[topic] = append(byTopic[topic], jm.MemberID)
		}
	}
	assigned := map[string]map[string][]int32{}
	for _, topic := range simTopicNames {
		ms := byTopic[topic]
		if len(ms) == 0 {
			continue
		}
		sort.Strings(ms)
		n := simTopics[topic]
		per, extra := n/int32(len(ms)), n%int32(len(ms))
		next := int32(0)
		for i, id := range ms {
			count := per
			if int32(i) < extra {
				count++
			}
			for p := next; p < next+count; p++ {
				if assigned[id] == nil {
					assigned[id] = map[string][]int32{}
				}
				assigned[id][topic] = append(assigned[id][topic], p)
			}
			next += count
		}
	}
	out := make([]MemberAssignment, 0, len(members))
	for _, jm := range members {
		a := kmsg.NewConsumerMemberAssignment()
		for _, topic := range simTopicNames {
			if ps := assigned[jm.MemberID][topic]; len(ps) > 0 {
				at := kmsg.NewConsumerMemberAssignmentTopic()
				at.Topic, at.Partitions = topic, ps
				a.Topics = append(a.Topics, at)
			}
		}
		out = append(out, MemberAssignment{MemberID: jm.MemberID, Assignment: a.AppendTo(nil)})
	}
	return out
}

func (m *groupModel) pick(t *rapid.T, label string, ok func(*simClient) bool) *simClient {
	var cands []*simClient
	for _, cl := range m.clients {
		if ok(cl) {
			cands = append(cands, cl)
		}
	}
	if len(cands) == 0 {
		t.Skip("no client for " + label)
	}
	return rapid.SampledFrom(cands).Draw(t, label)
}

func (m *groupModel) step(t *rapid.T) { m.nowMs += rapid.Int64Range(0, 500).Draw(t, "stepMs") }

func (m *groupModel) join(t *rapid.T) {
	// Any client may (re)join; one already parked re-sends (a retry).
	cl := m.pick(t, "joiner", func(*simClient) bool { return true })
	m.step(t)
	sub := subscription(cl.topics)
	var ps []Protocol
	for _, name := range cl.protocols {
		ps = append(ps, Protocol{Name: name, Metadata: sub})
	}
	fresh := rapid.IntRange(0, 9).Draw(t, "forgetMemberID") == 0 // a restarted client
	memberID := cl.memberID
	if fresh {
		memberID = ""
	}
	cmd := Join{NowMs: m.nowMs, Group: simGroup, MemberID: memberID, ClientID: cl.clientID, ClientHost: "/127.0.0.1",
		SessionTimeoutMs: 6000, RebalanceTimeoutMs: int32(rapid.SampledFrom([]int{6000, 10000}).Draw(t, "rebalanceMs")),
		ProtocolType: "consumer", Protocols: ps, RequireKnownMemberID: rapid.Bool().Draw(t, "requireKnown")}
	if fresh {
		cl.memberID, cl.phase = "", phaseIdle
	}
	out := m.apply(t, cmd)
	r := out.Result.(JoinResult)
	switch {
	case r.Parked:
		cl.memberID = r.MemberID
		m.byMember[r.MemberID] = cl
		cl.phase = phaseJoinParked
		m.park(t, Waiter{Group: simGroup, MemberID: r.MemberID, Kind: WaitJoin})
	case core.CodeOf(r.Err) == core.MemberIDRequired:
		cl.memberID, cl.phase = r.MemberID, phaseIdle
		m.byMember[r.MemberID] = cl
	case r.Err == nil:
		cl.memberID = r.MemberID
		m.byMember[r.MemberID] = cl
		m.onJoin(t, r.MemberID, r)
	default:
		if cmd.MemberID != "" && cl.memberID == cmd.MemberID {
			m.onJoin(t, cmd.MemberID, r)
		}
	}
}

func (m *groupModel) sync(t *rapid.T) {
	// A client whose sync is parked may re-send it (a retry).
	cl := m.pick(t, "syncer", func(cl *simClient) bool { return cl.phase == phaseJoined || cl.phase == phaseSyncParked })
	m.step(t)
	cmd := Sync{NowMs: m.nowMs, Group: simGroup, Generation: cl.generation, MemberID: cl.memberID}
	if cl.leaderID == cl.memberID {
		cmd.Assignments = rangeAssign(t, cl.members)
	}
	out := m.apply(t, cmd)
	r := out.Result.(SyncResult)
	if r.Parked {
		cl.phase = phaseSyncParked
		m.park(t, Waiter{Group: simGroup, MemberID: cl.memberID, Kind: WaitSync})
		return
	}
	m.onSync(t, cl.memberID, r)
}

func (m *groupModel) heartbeat(t *rapid.T) {
	cl := m.pick(t, "heartbeater", func(cl *simClient) bool { return cl.phase == phaseStable || cl.phase == phaseJoined })
	m.step(t)
	out := m.apply(t, Heartbeat{NowMs: m.nowMs, Group: simGroup, Generation: cl.generation, MemberID: cl.memberID})
	switch code := core.CodeOf(out.Result.(HeartbeatResult).Err); code {
	case core.None:
	case core.UnknownMemberID:
		cl.memberID, cl.phase = "", phaseIdle
	case core.RebalanceInProgress, core.IllegalGeneration:
		cl.phase = phaseIdle
	default:
		t.Fatalf("heartbeat: unexpected %v", out.Result.(HeartbeatResult).Err)
	}
}

// commit sends a commit from a client, sometimes with a wrong generation
// or member id, and checks the answer against the coordinator's view just
// before: accepted exactly when the member is in the group at the current
// generation and the group is Stable or PreparingRebalance (or, for a
// standalone commit, the group has no members).
func (m *groupModel) commit(t *rapid.T) {
	cl := m.pick(t, "committer", func(*simClient) bool { return true })
	m.step(t)
	cmd := CommitOffsets{NowMs: m.nowMs, Group: simGroup, Generation: cl.generation, MemberID: cl.memberID}
	switch rapid.IntRange(0, 5).Draw(t, "commitKind") {
	case 0:
		cmd.Generation, cmd.MemberID = -1, ""
	case 1:
		cmd.Generation += int32(rapid.IntRange(-2, 2).Draw(t, "genSkew"))
	case 2:
		cmd.MemberID = cl.clientID + "-ffffffffffffffff"
	}
	owned := cl.owned
	if len(owned) == 0 {
		owned = []TopicPartition{{Topic: "orders", Partition: 0}}
	}
	// The topic's incarnation (0: unknown, as in commands from before
	// topic ids): after an accepted commit under id X, the group holds no
	// offset of the topic under another non-zero id.
	var topicID [16]byte
	topicID[15] = byte(rapid.IntRange(0, 2).Draw(t, "topicID"))
	for _, tp := range owned {
		cmd.Offsets = append(cmd.Offsets, OffsetCommit{Topic: tp.Topic, Partition: tp.Partition,
			Offset: rapid.Int64Range(0, 1000).Draw(t, "offset"), LeaderEpoch: -1, TopicID: topicID})
	}

	desc, err := m.c.DescribeGroup(simGroup)
	if err != nil {
		t.Fatalf("%v", err)
	}
	isMember := false
	for _, md := range desc.Members {
		isMember = isMember || md.MemberID == cmd.MemberID
	}
	var want bool
	if cmd.Generation == -1 && cmd.MemberID == "" {
		want = desc.State == Dead || desc.State == Empty
	} else {
		want = isMember && cmd.Generation == desc.Generation && (desc.State == Stable || desc.State == PreparingRebalance)
	}
	out := m.apply(t, cmd)
	if want {
		coverage.acceptedCommits++
	} else {
		coverage.rejectedCommits++
	}
	for _, p := range out.Result.(CommitOffsetsResult).Partitions {
		if got := p.Err == nil; got != want {
			t.Fatalf("commit by %q gen %d to a %v group at gen %d (member: %v): accepted=%v, want %v (%v)",
				cmd.MemberID, cmd.Generation, desc.State, desc.Generation, isMember, got, want, p.Err)
		}
	}
	if !want || topicID == ([16]byte{}) {
		return
	}
	all, err := m.c.FetchAllOffsets(simGroup)
	if err != nil {
		t.Fatalf("%v", err)
	}
	committed := map[string]bool{}
	for _, tp := range owned {
		committed[tp.Topic] = true
	}
	for _, o := range all {
		if o.TopicID != ([16]byte{}) && o.TopicID != topicID && committed[o.Topic] {
			t.Fatalf("offset %s/%d of topic incarnation %d kept after a commit under %d", o.Topic, o.Partition, o.TopicID[15], topicID[15])
		}
	}
}

func (m *groupModel) leave(t *rapid.T) {
	cl := m.pick(t, "leaver", func(cl *simClient) bool { return cl.memberID != "" })
	m.step(t)
	id := cl.memberID
	m.apply(t, Leave{NowMs: m.nowMs, Group: simGroup, MemberIDs: []string{id}})
	if cl.memberID == id {
		cl.memberID, cl.phase, cl.owned = "", phaseIdle, nil
	}
}

func (m *groupModel) tick(t *rapid.T) {
	m.nowMs += rapid.Int64Range(0, 12000).Draw(t, "tickMs")
	out := m.apply(t, Tick{NowMs: m.nowMs})
	coverage.removed += len(out.Result.(TickResult).RemovedMembers)
}

func (m *groupModel) checkpoint(t *rapid.T) {
	r, err := Restore(m.cfg, m.c.Snapshot())
	if err != nil {
		t.Fatalf("restore of own snapshot: %v", err)
	}
	if r.StateHash() != m.c.StateHash() {
		t.Fatalf("restored state hash differs")
	}
	m.shadow = r
	coverage.restores++
}

// check runs after every action.
func (m *groupModel) check(t *rapid.T) {
	desc, err := m.c.DescribeGroup(simGroup)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if desc.State == Dead {
		// The group is gone; a new one starts its generations over.
		m.lastGen = 0
		m.owners = map[int32]map[TopicPartition]string{}
	}
	if desc.Generation < m.lastGen {
		t.Fatalf("generation went back from %d to %d", m.lastGen, desc.Generation)
	}
	m.lastGen = desc.Generation
	if m.c.OwnershipConflicts() != 0 {
		t.Fatalf("the coordinator counted %d ownership conflicts from an honest range assignor", m.c.OwnershipConflicts())
	}
	if desc.State != Stable {
		return
	}
	coverage.stable++
	// Stable: every partition of every subscribed topic is owned by exactly
	// one member of the current generation.
	subscribed := map[string]bool{}
	owner := map[TopicPartition]string{}
	for _, md := range desc.Members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(md.Metadata); err != nil {
			t.Fatalf("member %s metadata: %v", md.MemberID, err)
		}
		for _, topic := range meta.Topics {
			subscribed[topic] = true
		}
		for _, tp := range decodeOwned(t, md.Assignment) {
			if other, ok := owner[tp]; ok {
				t.Fatalf("Stable generation %d: %s/%d owned by %s and %s", desc.Generation, tp.Topic, tp.Partition, other, md.MemberID)
			}
			owner[tp] = md.MemberID
		}
	}
	for topic := range subscribed {
		for p := int32(0); p < simTopics[topic]; p++ {
			if _, ok := owner[TopicPartition{Topic: topic, Partition: p}]; !ok {
				t.Fatalf("Stable generation %d: %s/%d is subscribed but owned by nobody", desc.Generation, topic, p)
			}
		}
	}
}

// drain lets every deadline pass and checks no parked request is left
// without an answer.
func (m *groupModel) drain(t *rapid.T) {
	for i := 0; i < 6 && len(m.waiting) > 0; i++ {
		m.nowMs += 60000
		m.apply(t, Tick{NowMs: m.nowMs})
	}
	if len(m.waiting) > 0 {
		t.Fatalf("parked requests never answered: %v", m.waiting)
	}
}

// coverage counts what the runs reached, so the test can show it
// exercised rebalances, not only rejections.
var coverage struct {
	stable, completions, parked, acceptedCommits, rejectedCommits, removed, restores int
}

func TestGroupStateMachine(t *testing.T) {
	// Rebalances need long sequences; rapid's default is 30 steps.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.steps" })
	if !explicit {
		old := flag.Lookup("rapid.steps").Value.String()
		flag.Set("rapid.steps", "150")
		defer flag.Set("rapid.steps", old)
	}
	coverage = struct{ stable, completions, parked, acceptedCommits, rejectedCommits, removed, restores int }{}
	rapid.Check(t, func(t *rapid.T) {
		m := newGroupModel(t)
		t.Repeat(map[string]func(*rapid.T){
			"join":       m.join,
			"sync":       m.sync,
			"heartbeat":  m.heartbeat,
			"commit":     m.commit,
			"leave":      m.leave,
			"tick":       m.tick,
			"checkpoint": m.checkpoint,
			"":           m.check,
		})
		m.drain(t)
	})
	t.Logf("coverage: %+v", coverage)
	if coverage.stable == 0 || coverage.completions == 0 || coverage.parked == 0 || coverage.acceptedCommits == 0 ||
		coverage.rejectedCommits == 0 || coverage.removed == 0 || coverage.restores == 0 {
		t.Errorf("the runs missed a part of the protocol: %+v", coverage)
	}
}
