package controller

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/core"
	"pgregory.net/rapid"
)

// The model: what a user of the controller expects, written without the
// controller's data structures.
type modelTopic struct {
	id         TopicID
	partitions int32
	rf         int32
	configs    map[string]string
}

type nameCase struct {
	name  string
	valid bool
}

var modelNames = []nameCase{
	{"a", true}, {"b", true}, {"a.b", true}, {"a_b", true}, {"t-1", true},
	{"", false}, {"..", false}, {"bad name", false},
}

type configCase struct {
	key, value string
	canonical  string // "" when invalid
}

var modelConfigs = []configCase{
	{ConfigRetentionMs, "1000", "1000"},
	{ConfigRetentionMs, " +5 ", "5"},
	{ConfigRetentionMs, "-2", ""},
	{ConfigRetentionBytes, "-1", "-1"},
	{ConfigMaxMessageBytes, "abc", ""},
	{ConfigMaxMessageBytes, "2048", "2048"},
	{ConfigCleanupPolicy, "delete", "delete"},
	{ConfigCleanupPolicy, "compact", ""},
	{ConfigSegmentMs, "0", ""},
	{ConfigMinInsyncReplicas, "2", "2"},
	{"foo.bar", "1", ""},
}

func modelTopicID(i int) TopicID {
	if i == 0 {
		return TopicID{}
	}
	return topicID(i)
}

type machine struct {
	cfg Config
	c   *Controller
	// shadow, when set, was restored from a snapshot of c and has since
	// been given the same commands.
	shadow *Controller

	brokers        map[int32]uint64 // id → incarnation
	topics         map[string]*modelTopic
	nextPID        int64
	nextIncarnaton uint64

	deadShards   map[ShardID]bool
	deadReplicas map[ReplicaID]bool
	liveShards   map[ShardID]bool
	liveReplicas map[ReplicaID]bool
}

func (m *machine) apply(t *rapid.T, cmd Command) Result {
	res := m.c.Apply(cmd)
	if m.shadow != nil {
		sres := m.shadow.Apply(cmd)
		if !bytes.Equal(EncodeResult(res), EncodeResult(sres)) {
			t.Fatalf("restored controller answered %#v, original %#v", sres, res)
		}
		if m.shadow.StateHash() != m.c.StateHash() {
			t.Fatalf("restored controller diverged after %#v", cmd)
		}
	}
	return res
}

func (m *machine) expectCode(t *rapid.T, res Result, want core.Code) {
	if got := core.CodeOf(asError(ResultErr(res))); got != want {
		t.Fatalf("%T: code %d (%v), model expects %d", res, got, ResultErr(res), want)
	}
}

func (m *machine) totalPartitions() int32 {
	n := int32(0)
	for _, mt := range m.topics {
		n += mt.partitions
	}
	return n
}

func (m *machine) createTopic(t *rapid.T) {
	nc := rapid.SampledFrom(modelNames).Draw(t, "name")
	idIdx := rapid.IntRange(0, 8).Draw(t, "topicID")
	parts := rapid.Int32Range(-1, m.cfg.MaxPartitionsPerTopic+1).Draw(t, "partitions")
	rf := rapid.Int32Range(-1, int32(len(m.brokers))+1).Draw(t, "rf")
	ccs := rapid.SliceOfN(rapid.SampledFrom(modelConfigs), 0, 3).Draw(t, "configs")
	validateOnly := rapid.Bool().Draw(t, "validateOnly")
	cmd := CreateTopic{Name: nc.name, TopicID: modelTopicID(idIdx), Partitions: parts, ReplicationFactor: rf,
		ValidateOnly: validateOnly, NowMs: 100}
	for _, cc := range ccs {
		cmd.Configs = append(cmd.Configs, ConfigEntry{Key: cc.key, Value: cc.value})
	}

	want := core.None
	idInUse := false
	for _, mt := range m.topics {
		idInUse = idInUse || mt.id == cmd.TopicID
	}
	collides := false
	for name := range m.topics {
		collides = collides || strings.ReplaceAll(name, ".", "_") == strings.ReplaceAll(nc.name, ".", "_")
	}
	invalidConfig, dupConfig := false, false
	seen := map[string]bool{}
	for _, cc := range ccs {
		invalidConfig = invalidConfig || cc.canonical == ""
		dupConfig = dupConfig || seen[cc.key]
		seen[cc.key] = true
	}
	switch {
	case !nc.valid:
		want = core.InvalidTopicException
	case m.topics[nc.name] != nil:
		want = core.TopicAlreadyExists
	case collides:
		want = core.InvalidTopicException
	case idIdx == 0 || idInUse:
		want = core.InvalidRequest
	case parts <= 0 || parts > m.cfg.MaxPartitionsPerTopic:
		want = core.InvalidPartitions
	case rf <= 0 || int(rf) > len(m.brokers):
		want = core.InvalidReplicationFactor
	case invalidConfig:
		want = core.InvalidConfig
	case dupConfig:
		want = core.InvalidRequest
	case len(m.topics) >= int(m.cfg.MaxTopics) || m.totalPartitions()+parts > m.cfg.MaxPartitions:
		want = core.PolicyViolation
	}
	res := m.apply(t, cmd)
	m.expectCode(t, res, want)
	if want != core.None || validateOnly {
		return
	}
	mt := &modelTopic{id: cmd.TopicID, partitions: parts, rf: rf, configs: map[string]string{}}
	for _, cc := range ccs {
		mt.configs[cc.key] = cc.canonical
	}
	m.topics[nc.name] = mt
}

func (m *machine) deleteTopic(t *rapid.T) {
	cmd := DeleteTopic{}
	byName, byID := rapid.Bool().Draw(t, "byName"), rapid.Bool().Draw(t, "byID")
	if byName {
		cmd.Name = rapid.SampledFrom(modelNames).Draw(t, "name").name
	}
	if byID {
		cmd.TopicID = modelTopicID(rapid.IntRange(0, 8).Draw(t, "topicID"))
	}
	var victim string
	want := core.None
	switch {
	case cmd.Name != "" && cmd.TopicID != (TopicID{}):
		want = core.InvalidRequest
	case cmd.Name != "":
		if m.topics[cmd.Name] == nil {
			want = core.UnknownTopicOrPartition
		}
		victim = cmd.Name
	case cmd.TopicID != (TopicID{}):
		want = core.UnknownTopicID
		for name, mt := range m.topics {
			if mt.id == cmd.TopicID {
				want, victim = core.None, name
			}
		}
	default:
		want = core.InvalidRequest
	}
	res := m.apply(t, cmd)
	m.expectCode(t, res, want)
	if want == core.None {
		r := res.(DeleteTopicResult)
		if r.Name != victim || r.TopicID != m.topics[victim].id {
			t.Fatalf("deleted %q %x, model deletes %q", r.Name, r.TopicID, victim)
		}
		delete(m.topics, victim)
	}
}

func (m *machine) createPartitions(t *rapid.T) {
	name := rapid.SampledFrom(modelNames).Draw(t, "name").name
	cur := int32(0)
	if mt := m.topics[name]; mt != nil {
		cur = mt.partitions
	}
	total := rapid.Int32Range(0, cur+4).Draw(t, "total")
	validateOnly := rapid.Bool().Draw(t, "validateOnly")
	want := core.None
	switch {
	case m.topics[name] == nil:
		want = core.UnknownTopicOrPartition
	case total <= cur || total > m.cfg.MaxPartitionsPerTopic:
		want = core.InvalidPartitions
	case m.totalPartitions()+total-cur > m.cfg.MaxPartitions:
		want = core.PolicyViolation
	}
	res := m.apply(t, CreatePartitions{Name: name, TotalCount: total, ValidateOnly: validateOnly})
	m.expectCode(t, res, want)
	if want == core.None && !validateOnly {
		m.topics[name].partitions = total
	}
}

func (m *machine) alterConfigs(t *rapid.T) {
	name := rapid.SampledFrom(modelNames).Draw(t, "name").name
	n := rapid.IntRange(0, 3).Draw(t, "ops")
	validateOnly := rapid.Bool().Draw(t, "validateOnly")
	cmd := AlterConfigs{Name: name, ValidateOnly: validateOnly}
	want := core.None
	if m.topics[name] == nil {
		want = core.UnknownTopicOrPartition
	}
	seen := map[string]bool{}
	next := map[string]string{}
	if mt := m.topics[name]; mt != nil {
		for k, v := range mt.configs {
			next[k] = v
		}
	}
	for i := 0; i < n; i++ {
		cc := rapid.SampledFrom(modelConfigs).Draw(t, "config")
		del := rapid.Bool().Draw(t, "delete")
		op := ConfigOp{Key: cc.key, Value: cc.value, Op: ConfigOpSet}
		if del {
			op = ConfigOp{Key: cc.key, Op: ConfigOpDelete}
		}
		cmd.Ops = append(cmd.Ops, op)
		_, known := TopicConfigSpec(cc.key)
		if want == core.None {
			switch {
			case seen[cc.key]:
				want = core.InvalidRequest
			case !known || (!del && cc.canonical == ""):
				want = core.InvalidConfig
			case del:
				delete(next, cc.key)
			default:
				next[cc.key] = cc.canonical
			}
		}
		seen[cc.key] = true
	}
	res := m.apply(t, cmd)
	m.expectCode(t, res, want)
	if want == core.None && !validateOnly {
		m.topics[name].configs = next
	}
}

func (m *machine) allocateProducerIDs(t *rapid.T) {
	count := rapid.SampledFrom([]int32{-1, 0, 1, 7, 100, 101}).Draw(t, "count")
	res := m.apply(t, AllocateProducerIDs{Count: count})
	if count <= 0 || count > m.cfg.MaxProducerIDBlockCount {
		m.expectCode(t, res, core.InvalidRequest)
		return
	}
	r := res.(AllocateProducerIDsResult)
	// Blocks are consecutive, so each starts after every earlier one ended:
	// disjoint and increasing.
	if r.Err != nil || r.FirstProducerID != m.nextPID || r.Count != count {
		t.Fatalf("block %#v, model expects [%d, %d)", r, m.nextPID, m.nextPID+int64(count))
	}
	m.nextPID += int64(count)
}

func (m *machine) registerBroker(t *rapid.T) {
	ids := make([]int32, 0, len(m.brokers))
	for id := range m.brokers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	m.nextIncarnaton++
	fresh := 1_000_000 + m.nextIncarnaton
	switch rapid.IntRange(0, 2).Draw(t, "kind") {
	case 0: // a restart: same incarnation, maybe a new address
		id := rapid.SampledFrom(ids).Draw(t, "broker")
		info := brokerInfo(id, "")
		info.Incarnation = m.brokers[id]
		info.KafkaAddr = fmt.Sprintf("moved%d:9092", m.nextIncarnaton)
		before := m.c.Shards()
		res := m.apply(t, RegisterBroker{Broker: info, NowMs: 5})
		m.expectCode(t, res, core.None)
		if got := res.(RegisterBrokerResult).Replacements; len(got) != 0 {
			t.Fatalf("restart replaced %v", got)
		}
		if fmt.Sprint(before) != fmt.Sprint(m.c.Shards()) {
			t.Fatal("a restart changed the assignment")
		}
		if b, _ := m.c.Broker(id); b.Info != info {
			t.Fatalf("broker %d is %#v, registered %#v", id, b.Info, info)
		}
	case 1: // a wiped data directory: new incarnation
		id := rapid.SampledFrom(ids).Draw(t, "broker")
		info := brokerInfo(id, "")
		info.Incarnation = fresh
		m.checkWipe(t, info)
		m.brokers[id] = fresh
	case 2: // a new broker, perhaps over the limit
		id := int32(rapid.IntRange(0, int(m.cfg.MaxBrokers)+1).Draw(t, "newID"))
		if _, known := m.brokers[id]; known {
			return
		}
		info := brokerInfo(id, "")
		info.Incarnation = fresh
		res := m.apply(t, RegisterBroker{Broker: info, NowMs: 5})
		if len(m.brokers) >= int(m.cfg.MaxBrokers) {
			m.expectCode(t, res, core.PolicyViolation)
			return
		}
		m.expectCode(t, res, core.None)
		m.brokers[id] = fresh
	}
}

// checkWipe registers a new incarnation of a known broker and checks that
// every replica it held got a fresh id, reported in the result, and that no
// other replica changed.
func (m *machine) checkWipe(t *rapid.T, info BrokerInfo) {
	before := m.c.Shards()
	maxID := ReplicaID(0)
	for _, s := range before {
		for _, r := range s.Replicas {
			maxID = max(maxID, r.ReplicaID)
		}
	}
	res := m.apply(t, RegisterBroker{Broker: info, NowMs: 6})
	m.expectCode(t, res, core.None)
	reps := res.(RegisterBrokerResult).Replacements
	after := m.c.Shards()
	if len(after) != len(before) {
		t.Fatalf("wipe changed the shard count: %d -> %d", len(before), len(after))
	}
	k := 0
	seenNew := map[ReplicaID]bool{}
	for i, s := range before {
		a := after[i]
		if a.ID != s.ID || fmt.Sprint(a.InitialReplicas) != fmt.Sprint(s.InitialReplicas) {
			t.Fatalf("wipe changed shard %d's identity", s.ID)
		}
		for j, r := range s.Replicas {
			n := a.Replicas[j]
			if r.BrokerID != info.ID {
				if n != r {
					t.Fatalf("wipe of broker %d changed shard %d replica %+v -> %+v", info.ID, s.ID, r, n)
				}
				continue
			}
			if n.BrokerID != info.ID || n.ReplicaID <= maxID || seenNew[n.ReplicaID] {
				t.Fatalf("wiped broker %d's replica of shard %d: %+v -> %+v (max id before %d)", info.ID, s.ID, r, n, maxID)
			}
			seenNew[n.ReplicaID] = true
			want := ReplicaReplacement{ShardID: s.ID, BrokerID: info.ID, OldReplicaID: r.ReplicaID, NewReplicaID: n.ReplicaID}
			if k >= len(reps) || reps[k] != want {
				t.Fatalf("replacement %d: got %v, want %+v", k, reps, want)
			}
			k++
		}
	}
	if k != len(reps) {
		t.Fatalf("%d replacements reported, %d replicas replaced", len(reps), k)
	}
}

func (m *machine) snapshotRestore(t *rapid.T) {
	snap := m.c.Snapshot()
	r, err := Restore(m.cfg, snap)
	if err != nil {
		t.Fatalf("restore of a snapshot: %v", err)
	}
	if !bytes.Equal(r.Snapshot(), snap) || r.StateHash() != m.c.StateHash() {
		t.Fatal("restore does not reproduce the snapshot")
	}
	m.shadow = r
}

// check compares the controller with the model and checks the identity
// rules over the whole history.
func (m *machine) check(t *rapid.T) {
	names := m.c.TopicNames()
	if len(names) != len(m.topics) {
		t.Fatalf("topics %v, model has %d", names, len(m.topics))
	}
	groupShards := m.c.GroupShards()
	wantShards := len(groupShards)
	for _, name := range names {
		mt := m.topics[name]
		ti, ok := m.c.Topic(name)
		if mt == nil || !ok {
			t.Fatalf("topic %q not in the model", name)
		}
		if ti.ID != mt.id || int32(len(ti.Partitions)) != mt.partitions || ti.ReplicationFactor != mt.rf {
			t.Fatalf("topic %q: %+v, model %+v", name, ti, mt)
		}
		if byID, ok := m.c.TopicByID(mt.id); !ok || byID.Name != name {
			t.Fatalf("topic id %x does not find %q", mt.id, name)
		}
		if len(ti.Configs) != len(mt.configs) {
			t.Fatalf("topic %q configs %v, model %v", name, ti.Configs, mt.configs)
		}
		for _, e := range ti.Configs {
			if mt.configs[e.Key] != e.Value {
				t.Fatalf("topic %q configs %v, model %v", name, ti.Configs, mt.configs)
			}
		}
		for i, p := range ti.Partitions {
			if p.Index != int32(i) || len(p.Replicas) != int(mt.rf) {
				t.Fatalf("topic %q partition %d: %+v", name, i, p)
			}
		}
		wantShards += len(ti.Partitions)
	}

	shards := m.c.Shards()
	if len(shards) != wantShards {
		t.Fatalf("%d shards, want %d", len(shards), wantShards)
	}
	live := map[ShardID]bool{}
	liveReplicas := map[ReplicaID]bool{}
	for _, s := range shards {
		if m.deadShards[s.ID] || live[s.ID] || s.ID < FirstAllocatedShardID {
			t.Fatalf("shard id %d reused", s.ID)
		}
		live[s.ID] = true
		brokers := map[int32]bool{}
		for _, r := range s.Replicas {
			if _, ok := m.brokers[r.BrokerID]; !ok || brokers[r.BrokerID] {
				t.Fatalf("shard %d replicas %v: unknown or repeated broker", s.ID, s.Replicas)
			}
			brokers[r.BrokerID] = true
			if m.deadReplicas[r.ReplicaID] || liveReplicas[r.ReplicaID] {
				t.Fatalf("replica id %d reused", r.ReplicaID)
			}
			liveReplicas[r.ReplicaID] = true
		}
	}
	for id := range m.liveShards {
		if !live[id] {
			m.deadShards[id] = true
		}
	}
	for id := range m.liveReplicas {
		if !liveReplicas[id] {
			m.deadReplicas[id] = true
		}
	}
	m.liveShards, m.liveReplicas = live, liveReplicas

	if g := m.c.GroupShardFor("some-group"); !live[g] || g != groupShards[GroupShardIndex("some-group", int32(len(groupShards)))] {
		t.Fatalf("group shard %d", g)
	}
	if m.c.NextProducerID() != m.nextPID {
		t.Fatalf("next producer id %d, model %d", m.c.NextProducerID(), m.nextPID)
	}
	if v := m.c.check(); v != nil {
		t.Fatalf("invariant %s: %s", v.name, v.detail)
	}
}

func TestStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := DefaultConfig()
		cfg.MaxTopics, cfg.MaxPartitions, cfg.MaxPartitionsPerTopic = 4, 14, 6
		cfg.MaxBrokers, cfg.MaxGroupShards, cfg.MaxProducerIDBlockCount = 5, 4, 100
		n := rapid.IntRange(1, 4).Draw(t, "brokers")
		m := &machine{cfg: cfg, brokers: map[int32]uint64{}, topics: map[string]*modelTopic{},
			deadShards: map[ShardID]bool{}, deadReplicas: map[ReplicaID]bool{}}
		brokers := testBrokers(n)
		for _, b := range brokers {
			m.brokers[b.ID] = b.Incarnation
		}
		m.c = newBootstrapped(t, cfg, brokers, rapid.Int32Range(1, 3).Draw(t, "groupShards"),
			rapid.Int32Range(1, int32(n)).Draw(t, "groupRF"))
		t.Repeat(map[string]func(*rapid.T){
			"":                  m.check,
			"createTopic":       m.createTopic,
			"deleteTopic":       m.deleteTopic,
			"createPartitions":  m.createPartitions,
			"alterConfigs":      m.alterConfigs,
			"allocateProducers": m.allocateProducerIDs,
			"registerBroker":    m.registerBroker,
			"snapshotRestore":   m.snapshotRestore,
		})
	})
}
