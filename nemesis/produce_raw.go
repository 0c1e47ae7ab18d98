package nemesis

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	lin "github.com/tidemark/tidemark/linearizability"
)

// maxPlainBatch bounds the records of one plain-producer batch.
const maxPlainBatch = 3

// Byte positions in a v2 record batch (Kafka's DefaultRecordBatch).
const (
	batchLengthAt = 8  // Length, int32: bytes after this field
	batchCRCAt    = 17 // CRC, int32: CRC-32C of everything after it
	batchCRCFrom  = 21
	batchLenSkip  = 12 // FirstOffset and Length are not counted in Length
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// plainProducer sends raw, non-idempotent Produce requests (acks=all) of
// 1..maxPlainBatch keyed records to a partition's leader, exactly once
// each: it never retries, so a record found twice in a log was duplicated
// by the broker, not by the client (franz-go's producer retries even with
// RecordRetries when it is unsure whether a batch was written, which
// would make a duplicate legitimate).
func (w *workload) plainProducer(ctx context.Context, rng *rand.Rand) {
	client := w.newClientID()
	cl, err := w.cluster.Client()
	if err != nil {
		w.must(err)
		return
	}
	defer cl.Close()
	for seq := 0; ctx.Err() == nil; {
		p := rng.Int32N(w.cfg.Partitions)
		n := 1 + rng.IntN(maxPlainBatch)
		in := &lin.Produce{Topic: w.cfg.Topic, Partition: p}
		for range n {
			in.Records = append(in.Records, lin.Record{Key: fmt.Sprintf("p%d-k%d", client, seq%keysPerProducer), Value: fmt.Sprintf("p%d-%d", client, seq)})
			seq++
		}
		w.produceRaw(ctx, cl, client, in)
		sleep(ctx, producePause)
	}
}

func (w *workload) produceRaw(ctx context.Context, cl *kgo.Client, client int, in *lin.Produce) {
	leader, err := w.leaders.get(ctx, cl, in.Topic, in.Partition)
	if err != nil {
		return // nothing sent, nothing recorded
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = int32(opTimeout / time.Millisecond)
	t := kmsg.NewProduceRequestTopic()
	t.Topic = in.Topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = in.Partition
	rp.Records = encodeBatch(in.Records, time.Now().UnixMilli())
	t.Partitions = append(t.Partitions, rp)
	req.Topics = append(req.Topics, t)
	id := w.rec.Invoke(client, w.now(), in)
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	raw, err := cl.Broker(int(leader)).Request(octx, req)
	cancel()
	if err != nil {
		w.leaders.forget(in.Partition)
		if neverSent(err) {
			w.fail(id, err)
		} else {
			w.abandon(id, err)
		}
		return
	}
	resp := raw.(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		w.abandon(id, errors.New("malformed Produce response"))
		return
	}
	part := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(part.ErrorCode); err != nil {
		// Even an error answer may follow a proposal that commits later
		// (a leader that lost its lease mid-proposal): unknown.
		w.leaders.forget(in.Partition)
		w.abandon(id, err)
		return
	}
	w.must(w.rec.Complete(id, w.now(), &lin.ProduceResult{BaseOffset: part.BaseOffset}))
}

// encodeBatch encodes records as one uncompressed v2 record batch without
// a producer id.
func encodeBatch(records []lin.Record, nowMs int64) []byte {
	var body []byte
	for i, r := range records {
		rec := kmsg.Record{OffsetDelta: int32(i), Key: []byte(r.Key), Value: []byte(r.Value)}
		rec.Length = int32(len(rec.AppendTo(nil)) - 1) // everything after the 1-byte varint 0
		body = rec.AppendTo(body)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(records) - 1),
		FirstTimestamp:       nowMs,
		MaxTimestamp:         nowMs,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(records)),
		Records:              body,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[batchLengthAt:], uint32(len(out)-batchLenSkip))
	binary.BigEndian.PutUint32(out[batchCRCAt:], crc32.Checksum(out[batchCRCFrom:], crc32c))
	return out
}

// neverSent reports whether err says the request never left this process:
// the connection to the broker was refused, so the broker never saw it.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNREFUSED)
}
