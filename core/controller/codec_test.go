package controller

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/tidemark/tidemark/core"
	"pgregory.net/rapid"
)

func genString() *rapid.Generator[string] {
	return rapid.OneOf(rapid.SampledFrom([]string{"", "a", "orders", "a.b", "retention.ms"}), rapid.String())
}

func genBrokerInfo() *rapid.Generator[BrokerInfo] {
	return rapid.Custom(func(t *rapid.T) BrokerInfo {
		return BrokerInfo{
			ID:          rapid.Int32().Draw(t, "id"),
			KafkaAddr:   genString().Draw(t, "kafka"),
			RaftAddr:    genString().Draw(t, "raft"),
			Rack:        genString().Draw(t, "rack"),
			Incarnation: rapid.Uint64().Draw(t, "incarnation"),
		}
	})
}

func genTopicID() *rapid.Generator[TopicID] {
	return rapid.Custom(func(t *rapid.T) TopicID {
		var id TopicID
		copy(id[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
		return id
	})
}

// nilIfEmpty matches the decoders, which return nil for empty lists.
func nilIfEmpty[E any](s []E) []E {
	if len(s) == 0 {
		return nil
	}
	return s
}

func genCommand() *rapid.Generator[Command] {
	entry := rapid.Custom(func(t *rapid.T) ConfigEntry {
		return ConfigEntry{Key: genString().Draw(t, "key"), Value: genString().Draw(t, "value")}
	})
	op := rapid.Custom(func(t *rapid.T) ConfigOp {
		return ConfigOp{Key: genString().Draw(t, "key"), Value: genString().Draw(t, "value"),
			Op: rapid.SampledFrom([]ConfigOpType{ConfigOpSet, ConfigOpDelete}).Draw(t, "op")}
	})
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) Command {
			return Bootstrap{ClusterID: genString().Draw(t, "cluster"), NowMs: rapid.Int64().Draw(t, "now"),
				GroupShardCount: rapid.Int32().Draw(t, "gs"), GroupReplicationFactor: rapid.Int32().Draw(t, "grf"),
				Brokers: nilIfEmpty(rapid.SliceOfN(genBrokerInfo(), 0, 4).Draw(t, "brokers"))}
		}),
		rapid.Custom(func(t *rapid.T) Command {
			return RegisterBroker{Broker: genBrokerInfo().Draw(t, "broker"), NowMs: rapid.Int64().Draw(t, "now")}
		}),
		rapid.Custom(func(t *rapid.T) Command {
			return CreateTopic{Name: genString().Draw(t, "name"), TopicID: genTopicID().Draw(t, "id"),
				Partitions: rapid.Int32().Draw(t, "p"), ReplicationFactor: rapid.Int32().Draw(t, "rf"),
				Configs:      nilIfEmpty(rapid.SliceOfN(entry, 0, 4).Draw(t, "configs")),
				ValidateOnly: rapid.Bool().Draw(t, "vo"), NowMs: rapid.Int64().Draw(t, "now")}
		}),
		rapid.Custom(func(t *rapid.T) Command {
			return DeleteTopic{Name: genString().Draw(t, "name"), TopicID: genTopicID().Draw(t, "id")}
		}),
		rapid.Custom(func(t *rapid.T) Command {
			return CreatePartitions{Name: genString().Draw(t, "name"), TotalCount: rapid.Int32().Draw(t, "n"),
				ValidateOnly: rapid.Bool().Draw(t, "vo")}
		}),
		rapid.Custom(func(t *rapid.T) Command {
			return AlterConfigs{Name: genString().Draw(t, "name"), Ops: nilIfEmpty(rapid.SliceOfN(op, 0, 4).Draw(t, "ops")),
				ValidateOnly: rapid.Bool().Draw(t, "vo")}
		}),
		rapid.Custom(func(t *rapid.T) Command { return AllocateProducerIDs{Count: rapid.Int32().Draw(t, "n")} }),
	)
}

func genError() *rapid.Generator[*core.Error] {
	return rapid.OneOf(rapid.Just[*core.Error](nil), rapid.Custom(func(t *rapid.T) *core.Error {
		// Any code but None: an error present with code 0 is not a valid result.
		code := rapid.Int16().Filter(func(c int16) bool { return c != 0 }).Draw(t, "code")
		return &core.Error{Code: core.Code(code), Reason: genString().Draw(t, "reason")}
	}))
}

func genResult() *rapid.Generator[Result] {
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) Result {
			ids := rapid.SliceOfN(rapid.Uint64(), 0, 4).Draw(t, "ids")
			var out []ShardID
			for _, id := range ids {
				out = append(out, ShardID(id))
			}
			return BootstrapResult{Err: genError().Draw(t, "err"), GroupShards: out}
		}),
		rapid.Custom(func(t *rapid.T) Result {
			var rps []ReplicaReplacement
			for i := rapid.IntRange(0, 3).Draw(t, "n"); i > 0; i-- {
				rps = append(rps, ReplicaReplacement{ShardID: ShardID(rapid.Uint64().Draw(t, "s")),
					BrokerID: rapid.Int32().Draw(t, "b"), OldReplicaID: ReplicaID(rapid.Uint64().Draw(t, "o")),
					NewReplicaID: ReplicaID(rapid.Uint64().Draw(t, "n"))})
			}
			return RegisterBrokerResult{Err: genError().Draw(t, "err"), Replacements: rps}
		}),
		rapid.Custom(func(t *rapid.T) Result {
			return CreateTopicResult{Err: genError().Draw(t, "err"), TopicID: genTopicID().Draw(t, "id"),
				Partitions: rapid.Int32().Draw(t, "p"), ReplicationFactor: rapid.Int32().Draw(t, "rf")}
		}),
		rapid.Custom(func(t *rapid.T) Result {
			return DeleteTopicResult{Err: genError().Draw(t, "err"), Name: genString().Draw(t, "name"),
				TopicID: genTopicID().Draw(t, "id")}
		}),
		rapid.Custom(func(t *rapid.T) Result { return CreatePartitionsResult{Err: genError().Draw(t, "err")} }),
		rapid.Custom(func(t *rapid.T) Result { return AlterConfigsResult{Err: genError().Draw(t, "err")} }),
		rapid.Custom(func(t *rapid.T) Result {
			return AllocateProducerIDsResult{Err: genError().Draw(t, "err"), FirstProducerID: rapid.Int64().Draw(t, "f"),
				Count: rapid.Int32().Draw(t, "n")}
		}),
		rapid.Custom(func(t *rapid.T) Result { return MalformedCommandResult{Err: genError().Draw(t, "err")} }),
	)
}

func TestCommandRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cmd := genCommand().Draw(t, "cmd")
		b := EncodeCommand(cmd)
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("decode %#v: %v", cmd, err)
		}
		if !reflect.DeepEqual(got, cmd) {
			t.Fatalf("round trip: %#v != %#v", got, cmd)
		}
		// Every strict prefix is truncated input, and a trailing byte is
		// garbage: both must fail.
		for i := 0; i < len(b); i++ {
			if _, err := DecodeCommand(b[:i]); err == nil {
				t.Fatalf("prefix of %d/%d bytes decoded", i, len(b))
			}
		}
		if _, err := DecodeCommand(append(append([]byte(nil), b...), 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	})
}

func TestResultRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		res := genResult().Draw(t, "res")
		b := EncodeResult(res)
		got, err := DecodeResult(b)
		if err != nil {
			t.Fatalf("decode %#v: %v", res, err)
		}
		if !reflect.DeepEqual(got, res) {
			t.Fatalf("round trip: %#v != %#v", got, res)
		}
		if !bytes.Equal(EncodeResult(got), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func TestApplyEncodedMalformed(t *testing.T) {
	c := newBootstrapped(t, DefaultConfig(), testBrokers(1), 1, 1)
	h := c.StateHash()
	for _, b := range [][]byte{nil, {2, 1}, {1, 99}, {1, byte(kindCreateTopic), 0}} {
		res, err := DecodeResult(c.ApplyEncoded(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := res.(MalformedCommandResult); !ok {
			t.Fatalf("%x: %#v", b, res)
		}
		wantCode(t, res, core.InvalidRequest)
	}
	if c.StateHash() != h {
		t.Fatal("malformed entries changed the state")
	}
	res, err := DecodeResult(c.ApplyEncoded(EncodeCommand(AllocateProducerIDs{Count: 5})))
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(AllocateProducerIDsResult); r.Err != nil || r.FirstProducerID != 0 || r.Count != 5 {
		t.Fatalf("%#v", r)
	}
}
