package partition

import (
	"fmt"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/codec"
)

// Command is an input to Log.Apply: Produce, DeleteRecords or Retain. The
// set is sealed; commands are passed as values (not pointers). Every field
// that depends on time or on the proposer's view (NowMs, LeaderEpoch,
// MaxMessageBytes) is stamped by the proposer, so that every replica
// applying the command computes the same result.
type Command interface{ isCommand() }

// Produce appends one record batch (magic 2) as the client sent it.
type Produce struct {
	// NowMs is the proposer's clock: it becomes the producer's last
	// timestamp, which producer-id expiration measures from.
	NowMs int64
	// LeaderEpoch is the proposer's Raft term, written into the stored
	// batch's PartitionLeaderEpoch (KIP-320 clients use it to detect
	// truncation).
	LeaderEpoch int32
	// MaxMessageBytes is the topic's max.message.bytes at proposal time; a
	// larger batch is rejected with MessageTooLarge. Must be >= 0; 0 rejects every batch (Kafka's max.message.bytes=0).
	MaxMessageBytes int32
	// Records is the produce request's records field for this partition:
	// exactly one batch. Apply copies it before storing, so it may alias a
	// buffer the runtime reuses.
	Records []byte
}

// DeleteRecords moves the log start offset forward (Kafka's DeleteRecords).
type DeleteRecords struct {
	// Offset becomes the new log start offset; -1 means the high watermark.
	// It must lie in [log start, high watermark].
	Offset int64
}

// Retain applies the topic's retention policy at NowMs and expires idle
// producer ids. The proposer stamps NowMs and the topic's current
// retention.ms and retention.bytes (any negative value: unlimited).
type Retain struct {
	NowMs          int64
	RetentionMs    int64
	RetentionBytes int64
}

func (Produce) isCommand()       {}
func (DeleteRecords) isCommand() {}
func (Retain) isCommand()        {}

// commandVersion leads every encoded command. A change to any command's
// encoding means a new version, decoded alongside the old ones.
const commandVersion = 1

const (
	kindProduce       = 1
	kindDeleteRecords = 2
	kindRetain        = 3
)

// EncodeCommand encodes c: version, kind, then the kind's fields.
func EncodeCommand(c Command) []byte {
	switch c := c.(type) {
	case Produce:
		w := codec.NewWriter(2 + 8 + 4 + 4 + 4 + len(c.Records))
		w.Uint8(commandVersion)
		w.Uint8(kindProduce)
		w.Int64(c.NowMs)
		w.Int32(c.LeaderEpoch)
		w.Int32(c.MaxMessageBytes)
		w.ByteString(c.Records)
		return w.Bytes()
	case DeleteRecords:
		w := codec.NewWriter(2 + 8)
		w.Uint8(commandVersion)
		w.Uint8(kindDeleteRecords)
		w.Int64(c.Offset)
		return w.Bytes()
	case Retain:
		w := codec.NewWriter(2 + 3*8)
		w.Uint8(commandVersion)
		w.Uint8(kindRetain)
		w.Int64(c.NowMs)
		w.Int64(c.RetentionMs)
		w.Int64(c.RetentionBytes)
		return w.Bytes()
	default:
		panic(fmt.Sprintf("partition: EncodeCommand of unknown command %T", c))
	}
}

// DecodeCommand decodes what EncodeCommand wrote. It never panics; bad
// input is an error. Produce.Records aliases b.
func DecodeCommand(b []byte) (Command, error) {
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != commandVersion {
		return nil, fmt.Errorf("partition command: unknown version %d", v)
	}
	kind := r.Uint8()
	var c Command
	switch {
	case r.Err() != nil:
	case kind == kindProduce:
		c = Produce{
			NowMs:           r.Int64(),
			LeaderEpoch:     r.Int32(),
			MaxMessageBytes: r.Int32(),
			Records:         r.ByteString(codec.MaxBytes),
		}
	case kind == kindDeleteRecords:
		c = DeleteRecords{Offset: r.Int64()}
	case kind == kindRetain:
		c = Retain{NowMs: r.Int64(), RetentionMs: r.Int64(), RetentionBytes: r.Int64()}
	default:
		r.Fail(fmt.Errorf("unknown command kind %d", kind))
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("partition command: %w", err)
	}
	return c, nil
}

// Result is what Apply returns for a command: ProduceResult,
// DeleteRecordsResult or RetainResult, matching the command's kind.
type Result interface{ isResult() }

// ProduceResult answers a Produce. On success Err is nil and BaseOffset is
// the offset of the batch's first record; a duplicate of one of the
// producer's last five batches returns that batch's ORIGINAL base offset,
// also with a nil Err, and appends nothing. On failure BaseOffset is -1.
type ProduceResult struct {
	BaseOffset int64
	// LogAppendTimeMs is -1: topics use CreateTime only, for now.
	LogAppendTimeMs int64
	LogStartOffset  int64
	Err             *core.Error
}

// DeleteRecordsResult answers a DeleteRecords: the new log start offset
// (Kafka's low watermark), or -1 and an error.
type DeleteRecordsResult struct {
	LowWatermark int64
	Err          *core.Error
}

// RetainResult reports what a Retain deleted. Retain cannot fail.
type RetainResult struct {
	LogStartOffset   int64
	DeletedBatches   int64
	DeletedBytes     int64
	ExpiredProducers int64
}

func (ProduceResult) isResult()       {}
func (DeleteRecordsResult) isResult() {}
func (RetainResult) isResult()        {}

const resultVersion = 1

// EncodeResult encodes r: version, kind, then the kind's fields.
func EncodeResult(r Result) []byte {
	w := codec.NewWriter(64)
	w.Uint8(resultVersion)
	switch r := r.(type) {
	case ProduceResult:
		w.Uint8(kindProduce)
		w.Int64(r.BaseOffset)
		w.Int64(r.LogAppendTimeMs)
		w.Int64(r.LogStartOffset)
		core.WriteError(w, r.Err)
	case DeleteRecordsResult:
		w.Uint8(kindDeleteRecords)
		w.Int64(r.LowWatermark)
		core.WriteError(w, r.Err)
	case RetainResult:
		w.Uint8(kindRetain)
		w.Int64(r.LogStartOffset)
		w.Int64(r.DeletedBatches)
		w.Int64(r.DeletedBytes)
		w.Int64(r.ExpiredProducers)
	default:
		panic(fmt.Sprintf("partition: EncodeResult of unknown result %T", r))
	}
	return w.Bytes()
}

// DecodeResult decodes what EncodeResult wrote. It never panics.
func DecodeResult(b []byte) (Result, error) {
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != resultVersion {
		return nil, fmt.Errorf("partition result: unknown version %d", v)
	}
	kind := r.Uint8()
	var res Result
	switch {
	case r.Err() != nil:
	case kind == kindProduce:
		res = ProduceResult{BaseOffset: r.Int64(), LogAppendTimeMs: r.Int64(), LogStartOffset: r.Int64(), Err: core.ReadError(r)}
	case kind == kindDeleteRecords:
		res = DeleteRecordsResult{LowWatermark: r.Int64(), Err: core.ReadError(r)}
	case kind == kindRetain:
		res = RetainResult{LogStartOffset: r.Int64(), DeletedBatches: r.Int64(), DeletedBytes: r.Int64(), ExpiredProducers: r.Int64()}
	default:
		r.Fail(fmt.Errorf("unknown result kind %d", kind))
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("partition result: %w", err)
	}
	return res, nil
}
