package controller

import (
	"bytes"
	"reflect"
	"regexp"
	"testing"

	"github.com/tidemark/tidemark/core"
)

// fuzzConfig keeps what a fuzzed command can create small.
func fuzzConfig() Config {
	cfg := DefaultConfig()
	cfg.MaxTopics, cfg.MaxPartitions, cfg.MaxPartitionsPerTopic = 8, 64, 16
	cfg.MaxBrokers, cfg.MaxGroupShards = 8, 8
	return cfg
}

func sampleCommands() []Command {
	return []Command{
		Bootstrap{ClusterID: "c", NowMs: 1, GroupShardCount: 2, GroupReplicationFactor: 2, Brokers: testBrokers(3)},
		RegisterBroker{Broker: brokerInfo(3, "r1"), NowMs: 2},
		RegisterBroker{Broker: BrokerInfo{ID: 1, KafkaAddr: "k", RaftAddr: "r", Incarnation: 77}, NowMs: 3},
		CreateTopic{Name: "orders", TopicID: topicID(1), Partitions: 3, ReplicationFactor: 2,
			Configs: []ConfigEntry{{ConfigRetentionMs, "1000"}}, NowMs: 4},
		CreateTopic{Name: "x", TopicID: topicID(2), Partitions: 1, ReplicationFactor: 1, ValidateOnly: true},
		DeleteTopic{Name: "orders"},
		DeleteTopic{TopicID: topicID(1)},
		CreatePartitions{Name: "orders", TotalCount: 5},
		AlterConfigs{Name: "orders", Ops: []ConfigOp{{Key: ConfigRetentionBytes, Value: "10"}, {Key: ConfigRetentionMs, Op: ConfigOpDelete}}},
		AllocateProducerIDs{Count: 1000},
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range sampleCommands() {
		f.Add(EncodeCommand(cmd))
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 3, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeCommand(b)
		if err != nil {
			return
		}
		enc := EncodeCommand(cmd)
		if !bytes.Equal(enc, b) {
			t.Fatalf("decode→encode changed the bytes:\n%x\n%x", b, enc)
		}
		again, err := DecodeCommand(enc)
		if err != nil || !reflect.DeepEqual(again, cmd) {
			t.Fatalf("decode→encode→decode unstable: %v\n%#v\n%#v", err, cmd, again)
		}
		// Whatever decodes, Apply answers without panicking, on a fresh
		// controller and on a populated one (invariants are checked after
		// each command under -tags invariants).
		New(fuzzConfig()).Apply(cmd)
		c := fuzzPopulated(t)
		res := c.Apply(cmd)
		if _, err := DecodeResult(EncodeResult(res)); err != nil {
			t.Fatalf("result does not round-trip: %v", err)
		}
	})
}

func fuzzPopulated(t tb) *Controller {
	c := newBootstrapped(t, fuzzConfig(), testBrokers(3), 2, 2)
	mustOK(t, c.Apply(CreateTopic{Name: "orders", TopicID: topicID(1), Partitions: 2, ReplicationFactor: 2}))
	return c
}

func sampleSnapshots(t tb) [][]byte {
	out := [][]byte{New(fuzzConfig()).Snapshot()}
	c := newBootstrapped(t, fuzzConfig(), []BrokerInfo{brokerInfo(0, "r1"), brokerInfo(1, "r2"), brokerInfo(2, "")}, 2, 2)
	out = append(out, c.Snapshot())
	for _, cmd := range sampleCommands()[1:] {
		c.Apply(cmd)
		out = append(out, c.Snapshot())
	}
	return out
}

func FuzzRestore(f *testing.F) {
	for _, s := range sampleSnapshots(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Restore(fuzzConfig(), b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Snapshot(), b) {
			t.Fatalf("restored state re-encodes differently:\n%x\n%x", b, c.Snapshot())
		}
		// A restored state is a working state.
		for _, cmd := range sampleCommands() {
			c.Apply(cmd)
		}
		c.Apply(RegisterBroker{Broker: BrokerInfo{ID: 0, KafkaAddr: "k", RaftAddr: "r", Incarnation: 123456}})
		c.Shards()
		c.Topics()
	})
}

var kafkaTopicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func FuzzValidateTopicName(f *testing.F) {
	for _, s := range []string{"", ".", "..", "...", "a", "a b", "ü", "a_b", "x-1.y", string(make([]byte, 250))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateTopicName(name)
		want := kafkaTopicName.MatchString(name) && name != "." && name != ".."
		if (err == nil) != want {
			t.Fatalf("%q: got %v, want valid=%v", name, err, want)
		}
		if err != nil && err.Code != core.InvalidTopicException {
			t.Fatalf("%q: code %d", name, err.Code)
		}
	})
}
