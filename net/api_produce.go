package net

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/partition"
)

// Produce (key 0), versions 3-7: record batches (magic 2), non-flexible.
//
// Per partition: an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION;
// the records field must hold exactly one valid batch (batch.Single and
// batch.Validate, checked before proposing: CORRUPT_MESSAGE, INVALID_RECORD,
// UNSUPPORTED_FOR_MESSAGE_FORMAT...); a partition this broker does not lead
// is NOT_LEADER_OR_FOLLOWER. The batch is then proposed through Raft and
// answered once committed and applied, with core's verdict (BaseOffset,
// LogStartOffset; MESSAGE_TOO_LARGE, OUT_OF_ORDER_SEQUENCE_NUMBER...).
// LogAppendTime is -1 (CreateTime topics only). The partitions of one
// request are proposed concurrently.
//
// Acks must be -1, 0 or 1 (else INVALID_REQUIRED_ACKS). acks=1 is served as
// acks=all: an answer always means committed by a quorum
// (docs/guarantees.md). acks=0 gets no response at all.
//
// The API is serial: the requests of one connection are proposed in request
// order, which an idempotent producer pipelining batches relies on. When
// the Cluster is a ProduceSubmitter, a request's proposals are submitted in
// order and the connection then reads the next request while this one
// waits for its commits (pipelining: one produce's Raft round trip no
// longer holds back the connection's next); otherwise the next request
// waits until this one is answered.
//
// The batch's PartitionLeaderEpoch is stored as 0: leader epochs are not
// tracked yet.
var produceAPI = api{
	key:          0,
	name:         "Produce",
	minVersion:   3,
	maxVersion:   7,
	handle:       handleProduce,
	needsCluster: true,
	serial:       true,
}

const (
	// defaultProduceTimeout bounds a produce whose TimeoutMillis is <= 0.
	defaultProduceTimeout = 30 * time.Second
	// maxProduceTimeout caps a client's TimeoutMillis.
	maxProduceTimeout = 2 * time.Minute
)

func handleProduce(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.ProduceRequest)
	if !ok {
		return nil, fmt.Errorf("Produce handler got %T", req)
	}
	resp := kmsg.NewPtrProduceResponse()
	validAcks := r.Acks == -1 || r.Acks == 0 || r.Acks == 1
	timeout := defaultProduceTimeout
	if r.TimeoutMillis > 0 {
		timeout = min(time.Duration(r.TimeoutMillis)*time.Millisecond, maxProduceTimeout)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	submitter, pipelined := rc.cluster.(ProduceSubmitter)
	var waits []func()
	var wg sync.WaitGroup
	for _, rt := range r.Topics {
		out := kmsg.NewProduceResponseTopic()
		out.Topic = rt.Topic
		out.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for i, rp := range rt.Partitions {
			op := &out.Partitions[i]
			*op = kmsg.NewProduceResponseTopicPartition()
			op.Partition = rp.Partition
			op.BaseOffset = -1
			op.LogAppendTime = -1
			op.LogStartOffset = -1
			if !validAcks {
				op.ErrorCode = int16(core.InvalidRequiredAcks)
				continue
			}
			b, berr := batch.Single(rp.Records)
			if berr == nil {
				_, berr = batch.Validate(b)
			}
			if berr != nil {
				op.ErrorCode = int16(berr.Code)
				continue
			}
			if pipelined {
				// Submitted here, in request order, on this goroutine.
				wait, err := submitter.SubmitProduce(pctx, rt.Topic, op.Partition, b)
				if err != nil {
					op.ErrorCode = int16(proposalErrorCode(err))
					continue
				}
				waits = append(waits, func() { setProduceResult(op)(wait(pctx)) })
				continue
			}
			wg.Add(1)
			go func(topic string, b []byte) {
				defer wg.Done()
				setProduceResult(op)(rc.cluster.Produce(pctx, topic, op.Partition, b))
			}(rt.Topic, b)
		}
		resp.Topics = append(resp.Topics, out)
	}
	// Every proposal of this request is in its shard's log order now: the
	// connection may read its next request.
	markSubmitted(ctx)
	for _, w := range waits {
		w()
	}
	wg.Wait()
	if r.Acks == 0 {
		return nil, nil
	}
	return resp, nil
}

// ProduceSubmitter is a Cluster whose Produce splits in two, so that a
// connection can pipeline produce requests without reordering them.
// SubmitProduce proposes one checked record batch (as Produce) and returns
// without waiting for the commit: proposals submitted one after another
// from one goroutine reach the partition's log in that order (or fail, and
// core's sequence checks reject an idempotent batch that would then come
// out of order). wait blocks until the proposal is committed and applied
// or ctx ends, and returns what Produce would have returned; it is called
// once.
type ProduceSubmitter interface {
	SubmitProduce(ctx context.Context, topic string, index int32, b []byte) (wait func(context.Context) (partition.ProduceResult, error), err error)
}

// setProduceResult returns a func that fills op from a Produce outcome.
func setProduceResult(op *kmsg.ProduceResponseTopicPartition) func(partition.ProduceResult, error) {
	return func(res partition.ProduceResult, err error) {
		if err != nil {
			op.ErrorCode = int16(proposalErrorCode(err))
			return
		}
		if res.Err != nil {
			op.ErrorCode = int16(res.Err.Code)
			op.LogStartOffset = res.LogStartOffset
			return
		}
		op.BaseOffset = res.BaseOffset
		op.LogAppendTime = res.LogAppendTimeMs
		op.LogStartOffset = res.LogStartOffset
	}
}

// proposalErrorCode is the code for a Cluster error: its own code when it
// carries one, else REQUEST_TIMED_OUT (retriable: the proposal may or may
// not have been committed, and an idempotent retry is deduplicated).
func proposalErrorCode(err error) core.Code {
	var ke *core.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return core.RequestTimedOut
}
