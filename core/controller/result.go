package controller

import (
	"fmt"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/codec"
)

// Result is what Apply returns for a command: one type per command kind,
// plus MalformedCommandResult for bytes that did not decode. Err is nil on
// success; a failed command changed nothing.
type Result interface {
	resultKind() resultKind
}

type resultKind uint8

const (
	resultBootstrap           resultKind = 1
	resultRegisterBroker      resultKind = 2
	resultCreateTopic         resultKind = 3
	resultDeleteTopic         resultKind = 4
	resultCreatePartitions    resultKind = 5
	resultAlterConfigs        resultKind = 6
	resultAllocateProducerIDs resultKind = 7
	resultMalformedCommand    resultKind = 8
)

// BootstrapResult lists the group shards, by group-shard index.
type BootstrapResult struct {
	Err         *core.Error
	GroupShards []ShardID
}

// RegisterBrokerResult lists, for a wiped broker's new incarnation, every
// replica that got a new id, sorted by shard id.
type RegisterBrokerResult struct {
	Err          *core.Error
	Replacements []ReplicaReplacement
}

// CreateTopicResult echoes what was (or, with ValidateOnly, would be)
// created.
type CreateTopicResult struct {
	Err               *core.Error
	TopicID           TopicID
	Partitions        int32
	ReplicationFactor int32
}

// DeleteTopicResult names the deleted topic both ways (a DeleteTopics v6
// response carries both).
type DeleteTopicResult struct {
	Err     *core.Error
	Name    string
	TopicID TopicID
}

type CreatePartitionsResult struct {
	Err *core.Error
}

type AlterConfigsResult struct {
	Err *core.Error
}

// AllocateProducerIDsResult is the block [FirstProducerID,
// FirstProducerID+Count).
type AllocateProducerIDsResult struct {
	Err             *core.Error
	FirstProducerID int64
	Count           int32
}

// MalformedCommandResult answers log entries that are not a decodable
// command (ApplyEncoded): INVALID_REQUEST, state unchanged.
type MalformedCommandResult struct {
	Err *core.Error
}

func (BootstrapResult) resultKind() resultKind           { return resultBootstrap }
func (RegisterBrokerResult) resultKind() resultKind      { return resultRegisterBroker }
func (CreateTopicResult) resultKind() resultKind         { return resultCreateTopic }
func (DeleteTopicResult) resultKind() resultKind         { return resultDeleteTopic }
func (CreatePartitionsResult) resultKind() resultKind    { return resultCreatePartitions }
func (AlterConfigsResult) resultKind() resultKind        { return resultAlterConfigs }
func (AllocateProducerIDsResult) resultKind() resultKind { return resultAllocateProducerIDs }
func (MalformedCommandResult) resultKind() resultKind    { return resultMalformedCommand }

// ResultErr returns the error a result carries, nil on success.
func ResultErr(res Result) *core.Error {
	switch r := res.(type) {
	case BootstrapResult:
		return r.Err
	case RegisterBrokerResult:
		return r.Err
	case CreateTopicResult:
		return r.Err
	case DeleteTopicResult:
		return r.Err
	case CreatePartitionsResult:
		return r.Err
	case AlterConfigsResult:
		return r.Err
	case AllocateProducerIDsResult:
		return r.Err
	case MalformedCommandResult:
		return r.Err
	default:
		panic(fmt.Sprintf("controller: ResultErr of unknown result %T", res))
	}
}

// EncodeResult returns res's binary encoding: version byte, kind byte, the
// error (presence byte, then code and reason), then the fields.
func EncodeResult(res Result) []byte {
	w := codec.NewWriter(32)
	w.Uint8(encodingVersion)
	w.Uint8(uint8(res.resultKind()))
	core.WriteError(w, ResultErr(res))
	switch r := res.(type) {
	case BootstrapResult:
		w.Count(len(r.GroupShards))
		for _, id := range r.GroupShards {
			w.Uint64(uint64(id))
		}
	case RegisterBrokerResult:
		w.Count(len(r.Replacements))
		for _, rp := range r.Replacements {
			w.Uint64(uint64(rp.ShardID))
			w.Int32(rp.BrokerID)
			w.Uint64(uint64(rp.OldReplicaID))
			w.Uint64(uint64(rp.NewReplicaID))
		}
	case CreateTopicResult:
		writeTopicID(w, r.TopicID)
		w.Int32(r.Partitions)
		w.Int32(r.ReplicationFactor)
	case DeleteTopicResult:
		w.String(r.Name)
		writeTopicID(w, r.TopicID)
	case CreatePartitionsResult, AlterConfigsResult, MalformedCommandResult:
	case AllocateProducerIDsResult:
		w.Int64(r.FirstProducerID)
		w.Int32(r.Count)
	default:
		panic(fmt.Sprintf("controller: EncodeResult of unknown result %T", res))
	}
	return w.Bytes()
}

// DecodeResult decodes what EncodeResult wrote. It never panics.
func DecodeResult(b []byte) (Result, error) {
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != encodingVersion {
		return nil, fmt.Errorf("controller result: unknown encoding version %d", v)
	}
	kind := resultKind(r.Uint8())
	e := core.ReadError(r)
	if r.Err() != nil {
		return nil, fmt.Errorf("controller result: %w", r.Err())
	}
	var res Result
	switch kind {
	case resultBootstrap:
		out := BootstrapResult{Err: e}
		if n := r.Count(maxDecodeGroupShards, 8); n > 0 {
			out.GroupShards = make([]ShardID, n)
			for i := range out.GroupShards {
				out.GroupShards[i] = ShardID(r.Uint64())
			}
		}
		res = out
	case resultRegisterBroker:
		out := RegisterBrokerResult{Err: e}
		if n := r.Count(maxDecodeReplacements, 28); n > 0 {
			out.Replacements = make([]ReplicaReplacement, n)
			for i := range out.Replacements {
				out.Replacements[i] = ReplicaReplacement{
					ShardID:      ShardID(r.Uint64()),
					BrokerID:     r.Int32(),
					OldReplicaID: ReplicaID(r.Uint64()),
					NewReplicaID: ReplicaID(r.Uint64()),
				}
			}
		}
		res = out
	case resultCreateTopic:
		res = CreateTopicResult{Err: e, TopicID: readTopicID(r), Partitions: r.Int32(), ReplicationFactor: r.Int32()}
	case resultDeleteTopic:
		res = DeleteTopicResult{Err: e, Name: r.String(maxDecodeStringBytes), TopicID: readTopicID(r)}
	case resultCreatePartitions:
		res = CreatePartitionsResult{Err: e}
	case resultAlterConfigs:
		res = AlterConfigsResult{Err: e}
	case resultAllocateProducerIDs:
		res = AllocateProducerIDsResult{Err: e, FirstProducerID: r.Int64(), Count: r.Int32()}
	case resultMalformedCommand:
		res = MalformedCommandResult{Err: e}
	default:
		return nil, fmt.Errorf("controller result: unknown kind %d", kind)
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("controller result kind %d: %w", kind, err)
	}
	return res, nil
}
