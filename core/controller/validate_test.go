package controller

import (
	"math"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/core"
)

// TestValidation applies one bad command to a small cluster and checks the
// Kafka error code it gets, and that the failed command changed nothing.
func TestValidation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTopics = 3
	cfg.MaxPartitions = 8
	cfg.MaxPartitionsPerTopic = 8
	cfg.MaxBrokers = 4
	cfg.MaxProducerIDBlockCount = 1000

	setup := func(t *testing.T) *Controller {
		c := newBootstrapped(t, cfg, testBrokers(3), 2, 3)
		mustOK(t, c.Apply(CreateTopic{Name: "orders", TopicID: topicID(1), Partitions: 2, ReplicationFactor: 3}))
		mustOK(t, c.Apply(CreateTopic{Name: "a.b", TopicID: topicID(2), Partitions: 1, ReplicationFactor: 1}))
		return c
	}
	create := func(name string, parts, rf int32, configs ...ConfigEntry) CreateTopic {
		return CreateTopic{Name: name, TopicID: topicID(99), Partitions: parts, ReplicationFactor: rf, Configs: configs}
	}
	cfgEntry := func(k, v string) ConfigEntry { return ConfigEntry{Key: k, Value: v} }
	set := func(k, v string) ConfigOp { return ConfigOp{Key: k, Value: v, Op: ConfigOpSet} }

	cases := []struct {
		name string
		cmd  Command
		code core.Code
		// reason, when set, must appear in the error's reason.
		reason string
	}{
		{"empty name", create("", 1, 1), core.InvalidTopicException, "empty"},
		{"dot", create(".", 1, 1), core.InvalidTopicException, ""},
		{"dot dot", create("..", 1, 1), core.InvalidTopicException, ""},
		{"bad char", create("a/b", 1, 1), core.InvalidTopicException, "character"},
		{"space", create("a b", 1, 1), core.InvalidTopicException, "character"},
		{"non-ascii", create("café", 1, 1), core.InvalidTopicException, "character"},
		{"too long", create(strings.Repeat("x", 250), 1, 1), core.InvalidTopicException, "249"},
		{"exists", create("orders", 1, 1), core.TopicAlreadyExists, "already exists"},
		{"collides", create("a_b", 1, 1), core.InvalidTopicException, "collides"},
		{"zero topic id", CreateTopic{Name: "n", Partitions: 1, ReplicationFactor: 1}, core.InvalidRequest, "zero topic id"},
		{"topic id in use", CreateTopic{Name: "n", TopicID: topicID(1), Partitions: 1, ReplicationFactor: 1},
			core.InvalidRequest, "in use"},
		{"zero partitions", create("n", 0, 1), core.InvalidPartitions, "positive"},
		{"negative partitions", create("n", -1, 1), core.InvalidPartitions, "positive"},
		{"partitions over per-topic limit", create("n", 9, 1), core.InvalidPartitions, "limit"},
		{"zero rf", create("n", 1, 0), core.InvalidReplicationFactor, "positive"},
		{"default rf unresolved", create("n", 1, -1), core.InvalidReplicationFactor, "positive"},
		{"rf over brokers", create("n", 1, 4), core.InvalidReplicationFactor, "only 3 broker"},
		{"unknown config", create("n", 1, 1, cfgEntry("compression.type", "zstd")), core.InvalidConfig, "unknown"},
		{"bad retention", create("n", 1, 1, cfgEntry(ConfigRetentionMs, "-2")), core.InvalidConfig, "retention.ms"},
		{"non-numeric", create("n", 1, 1, cfgEntry(ConfigRetentionBytes, "ten")), core.InvalidConfig, "not an integer"},
		{"max.message.bytes over int", create("n", 1, 1, cfgEntry(ConfigMaxMessageBytes, "3000000000")), core.InvalidConfig, ""},
		{"compact", create("n", 1, 1, cfgEntry(ConfigCleanupPolicy, "compact")), core.InvalidConfig, "not supported yet"},
		{"compact,delete", create("n", 1, 1, cfgEntry(ConfigCleanupPolicy, "delete,compact")), core.InvalidConfig, "not supported yet"},
		{"LogAppendTime", create("n", 1, 1, cfgEntry(ConfigMessageTimestampType, "LogAppendTime")), core.InvalidConfig, "not supported yet"},
		{"duplicate config", create("n", 1, 1, cfgEntry(ConfigRetentionMs, "1"), cfgEntry(ConfigRetentionMs, "2")),
			core.InvalidRequest, "twice"},
		{"partitions over cluster limit", create("n", 8, 1), core.PolicyViolation, "cluster limit"},

		{"delete unknown name", DeleteTopic{Name: "nope"}, core.UnknownTopicOrPartition, ""},
		{"delete unknown id", DeleteTopic{TopicID: topicID(77)}, core.UnknownTopicID, ""},
		{"delete both", DeleteTopic{Name: "orders", TopicID: topicID(1)}, core.InvalidRequest, "not both"},
		{"delete neither", DeleteTopic{}, core.InvalidRequest, ""},

		{"add partitions unknown", CreatePartitions{Name: "nope", TotalCount: 5}, core.UnknownTopicOrPartition, ""},
		{"add partitions same", CreatePartitions{Name: "orders", TotalCount: 2}, core.InvalidPartitions, "already has 2"},
		{"add partitions fewer", CreatePartitions{Name: "orders", TotalCount: 1}, core.InvalidPartitions, "higher"},
		{"add partitions over per-topic", CreatePartitions{Name: "orders", TotalCount: 9}, core.InvalidPartitions, "limit"},
		{"add partitions over cluster", CreatePartitions{Name: "orders", TotalCount: 8}, core.PolicyViolation, ""},

		{"alter unknown topic", AlterConfigs{Name: "nope"}, core.UnknownTopicOrPartition, ""},
		{"alter unknown key", AlterConfigs{Name: "orders", Ops: []ConfigOp{set("foo", "1")}}, core.InvalidConfig, "unknown"},
		{"alter delete unknown key", AlterConfigs{Name: "orders", Ops: []ConfigOp{{Key: "foo", Op: ConfigOpDelete}}},
			core.InvalidConfig, "unknown"},
		{"alter bad value", AlterConfigs{Name: "orders", Ops: []ConfigOp{set(ConfigSegmentBytes, "13")}}, core.InvalidConfig, ""},
		{"alter duplicate", AlterConfigs{Name: "orders", Ops: []ConfigOp{set(ConfigRetentionMs, "1"),
			{Key: ConfigRetentionMs, Op: ConfigOpDelete}}}, core.InvalidRequest, "more than one"},
		{"alter unknown op", AlterConfigs{Name: "orders", Ops: []ConfigOp{{Key: ConfigRetentionMs, Value: "1", Op: 2}}},
			core.InvalidRequest, ""},

		{"pid zero", AllocateProducerIDs{Count: 0}, core.InvalidRequest, ""},
		{"pid over", AllocateProducerIDs{Count: 1001}, core.InvalidRequest, ""},

		{"register negative id", RegisterBroker{Broker: BrokerInfo{ID: -1, KafkaAddr: "k", RaftAddr: "r", Incarnation: 1}},
			core.InvalidRequest, ""},
		{"register incarnation 0", RegisterBroker{Broker: BrokerInfo{ID: 9, KafkaAddr: "k", RaftAddr: "r"}}, core.InvalidRequest, "incarnation"},
		{"register no addr", RegisterBroker{Broker: BrokerInfo{ID: 9, RaftAddr: "r", Incarnation: 5}}, core.InvalidRequest, ""},
		{"register stolen incarnation", RegisterBroker{Broker: BrokerInfo{ID: 9, KafkaAddr: "k", RaftAddr: "r",
			Incarnation: brokerInfo(1, "").Incarnation}}, core.InvalidRequest, "registered by broker 1"},

		{"second bootstrap differs", Bootstrap{ClusterID: "other", GroupShardCount: 2, GroupReplicationFactor: 3,
			Brokers: testBrokers(3)}, core.InvalidRequest, "already bootstrapped"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := setup(t)
			before := c.Snapshot()
			res := c.Apply(tc.cmd)
			wantCode(t, res, tc.code)
			if e := ResultErr(res); tc.reason != "" && !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("reason %q does not mention %q", e.Reason, tc.reason)
			}
			if string(c.Snapshot()) != string(before) {
				t.Fatalf("failed %T changed the state", tc.cmd)
			}
		})
	}

	t.Run("too many topics", func(t *testing.T) {
		c := setup(t)
		mustOK(t, c.Apply(CreateTopic{Name: "third", TopicID: topicID(3), Partitions: 1, ReplicationFactor: 1}))
		wantCode(t, c.Apply(create("fourth", 1, 1)), core.PolicyViolation)
	})
	t.Run("too many brokers", func(t *testing.T) {
		c := setup(t)
		mustOK(t, c.Apply(RegisterBroker{Broker: brokerInfo(3, "")}))
		wantCode(t, c.Apply(RegisterBroker{Broker: brokerInfo(4, "")}), core.PolicyViolation)
	})
	t.Run("producer ids exhausted", func(t *testing.T) {
		c := setup(t)
		c.nextProducerID = math.MaxInt64 - 10
		wantCode(t, c.Apply(AllocateProducerIDs{Count: 11}), core.UnknownServerError)
		res := mustOK(t, c.Apply(AllocateProducerIDs{Count: 10})).(AllocateProducerIDsResult)
		if res.FirstProducerID != math.MaxInt64-10 {
			t.Fatalf("block starts at %d", res.FirstProducerID)
		}
	})
	t.Run("validate only changes nothing", func(t *testing.T) {
		c := setup(t)
		before := c.Snapshot()
		mustOK(t, c.Apply(CreateTopic{Name: "v", TopicID: topicID(5), Partitions: 2, ReplicationFactor: 2, ValidateOnly: true}))
		mustOK(t, c.Apply(CreatePartitions{Name: "orders", TotalCount: 4, ValidateOnly: true}))
		mustOK(t, c.Apply(AlterConfigs{Name: "orders", Ops: []ConfigOp{set(ConfigRetentionMs, "5")}, ValidateOnly: true}))
		if string(c.Snapshot()) != string(before) {
			t.Fatal("validate-only command changed the state")
		}
	})
}

func TestNotBootstrapped(t *testing.T) {
	c := New(DefaultConfig())
	for _, cmd := range []Command{
		RegisterBroker{Broker: brokerInfo(0, "")},
		CreateTopic{Name: "t", TopicID: topicID(1), Partitions: 1, ReplicationFactor: 1},
		DeleteTopic{Name: "t"},
		CreatePartitions{Name: "t", TotalCount: 2},
		AlterConfigs{Name: "t"},
		AllocateProducerIDs{Count: 1},
	} {
		wantCode(t, c.Apply(cmd), core.NotController)
	}
	if c.GroupShardFor("g") != 0 || c.ClusterID() != "" || c.Bootstrapped() {
		t.Fatal("an unbootstrapped controller reports state")
	}
}

func TestBootstrapValidation(t *testing.T) {
	ok := Bootstrap{ClusterID: "c", NowMs: 5, GroupShardCount: 3, GroupReplicationFactor: 2, Brokers: testBrokers(3)}
	dupIncarnation := testBrokers(2)
	dupIncarnation[1].Incarnation = dupIncarnation[0].Incarnation
	cfg := DefaultConfig()
	cfg.MaxGroupShards, cfg.MaxBrokers = 4, 3
	cases := []struct {
		name string
		mod  func(b *Bootstrap)
		code core.Code
	}{
		{"no cluster id", func(b *Bootstrap) { b.ClusterID = "" }, core.InvalidRequest},
		{"no brokers", func(b *Bootstrap) { b.Brokers = nil }, core.InvalidRequest},
		{"too many brokers", func(b *Bootstrap) { b.Brokers = testBrokers(4) }, core.PolicyViolation},
		{"duplicate broker", func(b *Bootstrap) { b.Brokers = append(testBrokers(2), brokerInfo(1, "")) }, core.InvalidRequest},
		{"duplicate incarnation", func(b *Bootstrap) { b.Brokers = dupIncarnation; b.GroupReplicationFactor = 1 }, core.InvalidRequest},
		{"empty raft address", func(b *Bootstrap) { b.Brokers = []BrokerInfo{{ID: 0}}; b.GroupReplicationFactor = 1 }, core.InvalidRequest},
		{"zero group shards", func(b *Bootstrap) { b.GroupShardCount = 0 }, core.InvalidRequest},
		{"too many group shards", func(b *Bootstrap) { b.GroupShardCount = 5 }, core.PolicyViolation},
		{"group rf zero", func(b *Bootstrap) { b.GroupReplicationFactor = 0 }, core.InvalidReplicationFactor},
		{"group rf over brokers", func(b *Bootstrap) { b.GroupReplicationFactor = 4 }, core.InvalidReplicationFactor},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(cfg)
			b := ok
			tc.mod(&b)
			wantCode(t, c.Apply(b), tc.code)
			if c.Bootstrapped() {
				t.Fatal("a failed bootstrap bootstrapped")
			}
		})
	}
	t.Run("retry is idempotent", func(t *testing.T) {
		c := New(cfg)
		first := mustOK(t, c.Apply(ok)).(BootstrapResult)
		h := c.StateHash()
		retry := ok
		retry.NowMs = 99
		retry.Brokers = []BrokerInfo{ok.Brokers[2], ok.Brokers[0], ok.Brokers[1]} // order does not matter
		second := mustOK(t, c.Apply(retry)).(BootstrapResult)
		if len(first.GroupShards) != 3 || len(second.GroupShards) != 3 || first.GroupShards[0] != second.GroupShards[0] ||
			first.GroupShards[0] != FirstAllocatedShardID {
			t.Fatalf("group shards %v then %v", first.GroupShards, second.GroupShards)
		}
		if c.StateHash() != h {
			t.Fatal("idempotent retry changed the state")
		}
		changed := ok
		changed.Brokers = append([]BrokerInfo(nil), ok.Brokers...)
		changed.Brokers[0].KafkaAddr = "elsewhere:1"
		wantCode(t, c.Apply(changed), core.InvalidRequest)
	})
}

func TestValidateTopicName(t *testing.T) {
	for _, ok := range []string{"a", "A-Z_0.9", strings.Repeat("x", 249), "...", "-", "_"} {
		if err := ValidateTopicName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", strings.Repeat("x", 250), "a b", "a\x00", "ü", "a,b", "a*"} {
		if core.CodeOf(asError(ValidateTopicName(bad))) != core.InvalidTopicException {
			t.Errorf("%q accepted", bad)
		}
	}
}
