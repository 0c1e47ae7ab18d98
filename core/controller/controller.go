package controller

import (
	"fmt"
	"math"
	"sort"

	"github.com/tidemark/tidemark/core"
)

// Controller is the cluster metadata state machine. Create one with New (an
// empty, not yet bootstrapped cluster) or Restore, then Apply the
// controller log's commands in order.
type Controller struct {
	cfg Config

	bootstrapped bool
	clusterID    string
	boot         bootstrapRecord

	// Counters: each only grows (asserted in Apply).
	nextShardID    ShardID
	nextReplicaID  ReplicaID
	nextProducerID int64

	brokers   map[int32]*broker
	brokerIDs []int32 // sorted

	groupShards []*shard // by group-shard index
	topics      map[string]*topic
	topicIDs    map[TopicID]*topic
	// collisions maps collisionKey(name) to the live topic holding it.
	collisions     map[string]*topic
	shards         map[ShardID]*shard // group and partition shards
	partitionCount int                // partitions of all live topics
}

// bootstrapRecord is the accepted Bootstrap, kept to recognise a retry.
type bootstrapRecord struct {
	nowMs           int64
	groupShardCount int32
	groupRF         int32
	brokers         []BrokerInfo // sorted by id
}

type broker struct {
	info         BrokerInfo
	registeredMs int64
	// Derived counts over live shards (rebuilt by Restore).
	leaders  int // shards whose Replicas[0] is here
	replicas int // replicas hosted here
}

type shard struct {
	id        ShardID
	kind      ShardKind
	group     int32  // ShardGroup
	topic     *topic // ShardPartition
	partition int32  // ShardPartition
	replicas  []Replica
	initial   []Replica
}

type topic struct {
	name       string
	id         TopicID
	rf         int32
	createdMs  int64
	configs    []ConfigEntry // sorted by key, canonical values
	partitions []*shard
}

// New returns the controller of a cluster that has not been bootstrapped.
// cfg must pass Validate; New panics otherwise (a broker refuses to start
// with a bad config before it gets here).
func New(cfg Config) *Controller {
	err := cfg.Validate()
	core.Assert(err == nil, "controller config valid", "%v", err)
	return &Controller{
		cfg:            cfg,
		nextShardID:    FirstAllocatedShardID,
		nextReplicaID:  FirstReplicaID,
		nextProducerID: 0,
		brokers:        map[int32]*broker{},
		topics:         map[string]*topic{},
		topicIDs:       map[TopicID]*topic{},
		collisions:     map[string]*topic{},
		shards:         map[ShardID]*shard{},
	}
}

// ApplyEncoded decodes one log entry, applies it and returns the encoded
// result. An entry that does not decode is answered with an encoded
// MalformedCommandResult (INVALID_REQUEST) and changes nothing, so every
// replica stays in step whatever the log holds.
func (c *Controller) ApplyEncoded(entry []byte) []byte {
	cmd, err := DecodeCommand(entry)
	if err != nil {
		return EncodeResult(MalformedCommandResult{Err: core.Errorf(core.InvalidRequest, "%v", err)})
	}
	return EncodeResult(c.Apply(cmd))
}

type counters struct {
	shard    ShardID
	replica  ReplicaID
	producer int64
}

func (c *Controller) counters() counters {
	return counters{c.nextShardID, c.nextReplicaID, c.nextProducerID}
}

// Apply applies one command and returns its result. A command that fails
// validation returns its error in the result and changes nothing.
func (c *Controller) Apply(cmd Command) Result {
	before := c.counters()
	var res Result
	switch cmd := cmd.(type) {
	case Bootstrap:
		res = c.applyBootstrap(cmd)
	case RegisterBroker:
		res = c.applyRegisterBroker(cmd)
	case CreateTopic:
		res = c.applyCreateTopic(cmd)
	case DeleteTopic:
		res = c.applyDeleteTopic(cmd)
	case CreatePartitions:
		res = c.applyCreatePartitions(cmd)
	case AlterConfigs:
		res = c.applyAlterConfigs(cmd)
	case AllocateProducerIDs:
		res = c.applyAllocateProducerIDs(cmd)
	default:
		panic(fmt.Sprintf("controller: Apply of unknown command %T", cmd))
	}
	after := c.counters()
	core.Assert(after.shard >= before.shard, "next shard id never decreases", "%d -> %d", before.shard, after.shard)
	core.Assert(after.replica >= before.replica, "next replica id never decreases", "%d -> %d", before.replica, after.replica)
	core.Assert(after.producer >= before.producer, "next producer id never decreases", "%d -> %d", before.producer, after.producer)
	if ResultErr(res) != nil {
		core.Assert(after == before, "failed command changes nothing", "counters %+v -> %+v", before, after)
	}
	if core.ExpensiveChecks {
		if v := c.check(); v != nil {
			core.Assert(false, v.name, "after %T: %s", cmd, v.detail)
		}
	}
	return res
}

// errNotBootstrapped answers every command but Bootstrap before the
// cluster exists. NOT_CONTROLLER is retriable for Kafka clients, which is
// right: the cluster is starting.
func errNotBootstrapped() *core.Error {
	return core.Errorf(core.NotController, "the cluster is not bootstrapped yet")
}

// validateBrokerInfo checks a registration: every field set.
func validateBrokerInfo(b BrokerInfo) *core.Error {
	if err := validateBootstrapBroker(b); err != nil {
		return err
	}
	switch {
	case b.Incarnation == 0:
		return core.Errorf(core.InvalidRequest, "broker %d: incarnation 0 is invalid", b.ID)
	case b.KafkaAddr == "":
		return core.Errorf(core.InvalidRequest, "broker %d: empty Kafka address", b.ID)
	}
	return nil
}

// validateBootstrapBroker checks an initial broker listed by Bootstrap or
// held in the state: it may not have registered yet (incarnation 0, no
// Kafka address; see BrokerInfo.Incarnation).
func validateBootstrapBroker(b BrokerInfo) *core.Error {
	switch {
	case b.ID < 0:
		return core.Errorf(core.InvalidRequest, "broker id %d is negative", b.ID)
	case b.RaftAddr == "":
		return core.Errorf(core.InvalidRequest, "broker %d: empty Raft address", b.ID)
	}
	return nil
}

func sortedBrokers(bs []BrokerInfo) []BrokerInfo {
	out := append([]BrokerInfo(nil), bs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *Controller) applyBootstrap(cmd Bootstrap) Result {
	brokers := sortedBrokers(cmd.Brokers)
	if c.bootstrapped {
		same := cmd.ClusterID == c.clusterID && cmd.GroupShardCount == c.boot.groupShardCount &&
			cmd.GroupReplicationFactor == c.boot.groupRF && len(brokers) == len(c.boot.brokers)
		for i := 0; same && i < len(brokers); i++ {
			same = brokers[i] == c.boot.brokers[i]
		}
		if !same {
			return BootstrapResult{Err: core.Errorf(core.InvalidRequest,
				"cluster %s is already bootstrapped, with different parameters", shortName(c.clusterID))}
		}
		return BootstrapResult{GroupShards: c.GroupShards()}
	}
	if cmd.ClusterID == "" {
		return BootstrapResult{Err: core.Errorf(core.InvalidRequest, "bootstrap: empty cluster id")}
	}
	if len(brokers) == 0 {
		return BootstrapResult{Err: core.Errorf(core.InvalidRequest, "bootstrap: no brokers")}
	}
	if len(brokers) > int(c.cfg.MaxBrokers) {
		return BootstrapResult{Err: core.Errorf(core.PolicyViolation,
			"bootstrap: %d brokers over the limit of %d", len(brokers), c.cfg.MaxBrokers)}
	}
	incarnations := make(map[uint64]int32, len(brokers))
	for i, b := range brokers {
		if err := validateBootstrapBroker(b); err != nil {
			return BootstrapResult{Err: err}
		}
		if i > 0 && brokers[i-1].ID == b.ID {
			return BootstrapResult{Err: core.Errorf(core.InvalidRequest, "bootstrap: broker %d listed twice", b.ID)}
		}
		if other, ok := incarnations[b.Incarnation]; ok && b.Incarnation != 0 {
			return BootstrapResult{Err: core.Errorf(core.InvalidRequest,
				"bootstrap: brokers %d and %d share incarnation %d", other, b.ID, b.Incarnation)}
		}
		incarnations[b.Incarnation] = b.ID
	}
	if cmd.GroupShardCount <= 0 {
		return BootstrapResult{Err: core.Errorf(core.InvalidRequest,
			"bootstrap: group shard count must be positive, got %d", cmd.GroupShardCount)}
	}
	if cmd.GroupShardCount > c.cfg.MaxGroupShards {
		return BootstrapResult{Err: core.Errorf(core.PolicyViolation,
			"bootstrap: %d group shards over the limit of %d", cmd.GroupShardCount, c.cfg.MaxGroupShards)}
	}
	if cmd.GroupReplicationFactor <= 0 || int(cmd.GroupReplicationFactor) > len(brokers) {
		return BootstrapResult{Err: core.Errorf(core.InvalidReplicationFactor,
			"bootstrap: group replication factor %d must be in [1, %d brokers]", cmd.GroupReplicationFactor, len(brokers))}
	}

	c.bootstrapped = true
	c.clusterID = cmd.ClusterID
	c.boot = bootstrapRecord{nowMs: cmd.NowMs, groupShardCount: cmd.GroupShardCount,
		groupRF: cmd.GroupReplicationFactor, brokers: brokers}
	for _, b := range brokers {
		c.addBroker(b, cmd.NowMs)
	}
	for g := int32(0); g < cmd.GroupShardCount; g++ {
		s := c.newShard(ShardGroup, int(cmd.GroupReplicationFactor))
		s.group = g
		c.groupShards = append(c.groupShards, s)
	}
	return BootstrapResult{GroupShards: c.GroupShards()}
}

func (c *Controller) addBroker(info BrokerInfo, nowMs int64) {
	_, dup := c.brokers[info.ID]
	core.Assert(!dup, "broker ids unique", "broker %d added twice", info.ID)
	c.brokers[info.ID] = &broker{info: info, registeredMs: nowMs}
	i := sort.Search(len(c.brokerIDs), func(i int) bool { return c.brokerIDs[i] >= info.ID })
	c.brokerIDs = append(c.brokerIDs, 0)
	copy(c.brokerIDs[i+1:], c.brokerIDs[i:])
	c.brokerIDs[i] = info.ID
}

func (c *Controller) applyRegisterBroker(cmd RegisterBroker) Result {
	if !c.bootstrapped {
		return RegisterBrokerResult{Err: errNotBootstrapped()}
	}
	info := cmd.Broker
	if err := validateBrokerInfo(info); err != nil {
		return RegisterBrokerResult{Err: err}
	}
	for _, id := range c.brokerIDs {
		if b := c.brokers[id]; id != info.ID && b.info.Incarnation == info.Incarnation {
			return RegisterBrokerResult{Err: core.Errorf(core.InvalidRequest,
				"broker %d: incarnation %d is registered by broker %d", info.ID, info.Incarnation, id)}
		}
	}
	b, known := c.brokers[info.ID]
	if !known {
		if len(c.brokerIDs) >= int(c.cfg.MaxBrokers) {
			return RegisterBrokerResult{Err: core.Errorf(core.PolicyViolation,
				"broker %d: %d brokers registered, the limit", info.ID, c.cfg.MaxBrokers)}
		}
		c.addBroker(info, cmd.NowMs)
		return RegisterBrokerResult{}
	}
	// Incarnation 0: listed by Bootstrap, registering for the first time.
	wiped := b.info.Incarnation != 0 && b.info.Incarnation != info.Incarnation
	b.info, b.registeredMs = info, cmd.NowMs
	if !wiped {
		return RegisterBrokerResult{}
	}
	// The broker lost its Raft state: give each of its replicas a new id so
	// that the runtime replaces the member rather than letting a replica
	// with no memory of its votes rejoin under its old identity.
	ids := make([]ShardID, 0, len(c.shards))
	for id := range c.shards {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var out []ReplicaReplacement
	for _, id := range ids {
		s := c.shards[id]
		for i := range s.replicas {
			if s.replicas[i].BrokerID != info.ID {
				continue
			}
			rp := ReplicaReplacement{ShardID: id, BrokerID: info.ID,
				OldReplicaID: s.replicas[i].ReplicaID, NewReplicaID: c.nextReplicaID}
			c.nextReplicaID++
			s.replicas[i].ReplicaID = rp.NewReplicaID
			out = append(out, rp)
		}
	}
	return RegisterBrokerResult{Replacements: out}
}

// normalizeConfigs validates a CreateTopic's entries and returns them with
// canonical values, sorted by key.
func normalizeConfigs(entries []ConfigEntry) ([]ConfigEntry, *core.Error) {
	out := make([]ConfigEntry, 0, len(entries))
	for _, e := range entries {
		v, err := ValidateTopicConfig(e.Key, e.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, ConfigEntry{Key: e.Key, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	for i := 1; i < len(out); i++ {
		if out[i].Key == out[i-1].Key {
			return nil, core.Errorf(core.InvalidRequest, "config %s given twice", out[i].Key)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (c *Controller) applyCreateTopic(cmd CreateTopic) Result {
	fail := func(err *core.Error) Result { return CreateTopicResult{Err: err} }
	if !c.bootstrapped {
		return fail(errNotBootstrapped())
	}
	if err := ValidateTopicName(cmd.Name); err != nil {
		return fail(err)
	}
	if _, ok := c.topics[cmd.Name]; ok {
		return fail(core.Errorf(core.TopicAlreadyExists, "topic %s already exists", shortName(cmd.Name)))
	}
	if t, ok := c.collisions[collisionKey(cmd.Name)]; ok {
		return fail(core.Errorf(core.InvalidTopicException,
			"topic %s collides with existing topic %s ('.' and '_' collide)", shortName(cmd.Name), shortName(t.name)))
	}
	if cmd.TopicID == (TopicID{}) {
		return fail(core.Errorf(core.InvalidRequest, "topic %s: zero topic id", shortName(cmd.Name)))
	}
	if t, ok := c.topicIDs[cmd.TopicID]; ok {
		return fail(core.Errorf(core.InvalidRequest, "topic id %x is in use by topic %s", cmd.TopicID[:], shortName(t.name)))
	}
	if cmd.Partitions <= 0 {
		return fail(core.Errorf(core.InvalidPartitions, "number of partitions must be positive, got %d", cmd.Partitions))
	}
	if cmd.Partitions > c.cfg.MaxPartitionsPerTopic {
		return fail(core.Errorf(core.InvalidPartitions,
			"number of partitions %d over the limit of %d per topic", cmd.Partitions, c.cfg.MaxPartitionsPerTopic))
	}
	if cmd.ReplicationFactor <= 0 {
		return fail(core.Errorf(core.InvalidReplicationFactor,
			"replication factor must be positive, got %d", cmd.ReplicationFactor))
	}
	if int(cmd.ReplicationFactor) > len(c.brokerIDs) {
		return fail(core.Errorf(core.InvalidReplicationFactor,
			"replication factor %d cannot be reached: only %d broker(s) are registered", cmd.ReplicationFactor, len(c.brokerIDs)))
	}
	configs, err := normalizeConfigs(cmd.Configs)
	if err != nil {
		return fail(err)
	}
	if len(c.topics) >= int(c.cfg.MaxTopics) {
		return fail(core.Errorf(core.PolicyViolation, "%d topics exist, the limit", c.cfg.MaxTopics))
	}
	if c.partitionCount+int(cmd.Partitions) > int(c.cfg.MaxPartitions) {
		return fail(core.Errorf(core.PolicyViolation, "%d more partitions would exceed the cluster limit of %d (%d exist)",
			cmd.Partitions, c.cfg.MaxPartitions, c.partitionCount))
	}
	ok := CreateTopicResult{TopicID: cmd.TopicID, Partitions: cmd.Partitions, ReplicationFactor: cmd.ReplicationFactor}
	if cmd.ValidateOnly {
		return ok
	}
	t := &topic{name: cmd.Name, id: cmd.TopicID, rf: cmd.ReplicationFactor, createdMs: cmd.NowMs, configs: configs}
	c.topics[t.name] = t
	c.topicIDs[t.id] = t
	c.collisions[collisionKey(t.name)] = t
	c.addPartitions(t, cmd.Partitions)
	return ok
}

func (c *Controller) addPartitions(t *topic, total int32) {
	for p := int32(len(t.partitions)); p < total; p++ {
		s := c.newShard(ShardPartition, int(t.rf))
		s.topic, s.partition = t, p
		t.partitions = append(t.partitions, s)
		c.partitionCount++
	}
}

func (c *Controller) applyDeleteTopic(cmd DeleteTopic) Result {
	if !c.bootstrapped {
		return DeleteTopicResult{Err: errNotBootstrapped()}
	}
	var t *topic
	switch {
	case cmd.Name != "" && cmd.TopicID != (TopicID{}):
		return DeleteTopicResult{Err: core.Errorf(core.InvalidRequest, "delete topic: give a name or a topic id, not both")}
	case cmd.Name != "":
		if t = c.topics[cmd.Name]; t == nil {
			return DeleteTopicResult{Err: core.Errorf(core.UnknownTopicOrPartition,
				"topic %s does not exist", shortName(cmd.Name))}
		}
	case cmd.TopicID != (TopicID{}):
		if t = c.topicIDs[cmd.TopicID]; t == nil {
			return DeleteTopicResult{Err: core.Errorf(core.UnknownTopicID, "topic id %x does not exist", cmd.TopicID[:])}
		}
	default:
		return DeleteTopicResult{Err: core.Errorf(core.InvalidRequest, "delete topic: no name and no topic id")}
	}
	for _, s := range t.partitions {
		c.dropShard(s)
		c.partitionCount--
	}
	delete(c.topics, t.name)
	delete(c.topicIDs, t.id)
	delete(c.collisions, collisionKey(t.name))
	return DeleteTopicResult{Name: t.name, TopicID: t.id}
}

func (c *Controller) applyCreatePartitions(cmd CreatePartitions) Result {
	fail := func(err *core.Error) Result { return CreatePartitionsResult{Err: err} }
	if !c.bootstrapped {
		return fail(errNotBootstrapped())
	}
	t := c.topics[cmd.Name]
	if t == nil {
		return fail(core.Errorf(core.UnknownTopicOrPartition, "topic %s does not exist", shortName(cmd.Name)))
	}
	current := int32(len(t.partitions))
	switch {
	case cmd.TotalCount == current:
		return fail(core.Errorf(core.InvalidPartitions, "topic already has %d partitions", current))
	case cmd.TotalCount < current:
		return fail(core.Errorf(core.InvalidPartitions,
			"topic currently has %d partitions, which is higher than the requested %d", current, cmd.TotalCount))
	case cmd.TotalCount > c.cfg.MaxPartitionsPerTopic:
		return fail(core.Errorf(core.InvalidPartitions,
			"number of partitions %d over the limit of %d per topic", cmd.TotalCount, c.cfg.MaxPartitionsPerTopic))
	case c.partitionCount+int(cmd.TotalCount-current) > int(c.cfg.MaxPartitions):
		return fail(core.Errorf(core.PolicyViolation, "%d more partitions would exceed the cluster limit of %d (%d exist)",
			cmd.TotalCount-current, c.cfg.MaxPartitions, c.partitionCount))
	}
	if !cmd.ValidateOnly {
		c.addPartitions(t, cmd.TotalCount)
	}
	return CreatePartitionsResult{}
}

func (c *Controller) applyAlterConfigs(cmd AlterConfigs) Result {
	fail := func(err *core.Error) Result { return AlterConfigsResult{Err: err} }
	if !c.bootstrapped {
		return fail(errNotBootstrapped())
	}
	t := c.topics[cmd.Name]
	if t == nil {
		return fail(core.Errorf(core.UnknownTopicOrPartition, "topic %s does not exist", shortName(cmd.Name)))
	}
	next := make(map[string]string, len(t.configs)+len(cmd.Ops))
	for _, e := range t.configs {
		next[e.Key] = e.Value
	}
	seen := make(map[string]bool, len(cmd.Ops))
	for _, op := range cmd.Ops {
		if seen[op.Key] {
			return fail(core.Errorf(core.InvalidRequest, "config %s named by more than one op", shortName(op.Key)))
		}
		seen[op.Key] = true
		switch op.Op {
		case ConfigOpSet:
			v, err := ValidateTopicConfig(op.Key, op.Value)
			if err != nil {
				return fail(err)
			}
			next[op.Key] = v
		case ConfigOpDelete:
			if _, ok := TopicConfigSpec(op.Key); !ok {
				return fail(core.Errorf(core.InvalidConfig, "unknown topic config name: %s", shortName(op.Key)))
			}
			delete(next, op.Key)
		default:
			return fail(core.Errorf(core.InvalidRequest, "config %s: unknown op %d", shortName(op.Key), op.Op))
		}
	}
	if cmd.ValidateOnly {
		return AlterConfigsResult{}
	}
	var configs []ConfigEntry
	for _, s := range topicConfigSpecs { // sorted by key: no map order escapes
		if v, ok := next[s.Key]; ok {
			configs = append(configs, ConfigEntry{Key: s.Key, Value: v})
		}
	}
	t.configs = configs
	return AlterConfigsResult{}
}

func (c *Controller) applyAllocateProducerIDs(cmd AllocateProducerIDs) Result {
	fail := func(err *core.Error) Result { return AllocateProducerIDsResult{Err: err} }
	if !c.bootstrapped {
		return fail(errNotBootstrapped())
	}
	if cmd.Count <= 0 || cmd.Count > c.cfg.MaxProducerIDBlockCount {
		return fail(core.Errorf(core.InvalidRequest,
			"producer id block of %d: must be in [1, %d]", cmd.Count, c.cfg.MaxProducerIDBlockCount))
	}
	if c.nextProducerID > math.MaxInt64-int64(cmd.Count) {
		return fail(core.Errorf(core.UnknownServerError, "producer id space exhausted at %d", c.nextProducerID))
	}
	first := c.nextProducerID
	c.nextProducerID += int64(cmd.Count)
	return AllocateProducerIDsResult{FirstProducerID: first, Count: cmd.Count}
}
