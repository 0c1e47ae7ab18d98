package net

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
)

// Fetch (key 1), versions 4-11: the non-flexible versions.
//
// Fetch sessions (KIP-227, v7+) are refused: every response carries
// SessionID 0, so clients keep sending full fetches; an incremental request
// (SessionID != 0 and SessionEpoch > 0) is answered FETCH_SESSION_ID_NOT_FOUND
// at the top level, after which clients fall back to a full fetch.
//
// Per partition, read at the leader only (a broker that does not lead it
// answers NOT_LEADER_OR_FOLLOWER; PreferredReadReplica is always -1): an
// unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION, an offset
// outside [log start, log end] OFFSET_OUT_OF_RANGE; otherwise whole stored
// batches from the one containing the fetch offset (it may start before
// it), with HighWatermark, LastStableOffset (= HighWatermark: no
// transactions, so READ_COMMITTED reads the same) and LogStartOffset.
// AbortedTransactions is empty.
//
// Sizes: each partition gets at most PartitionMaxBytes and the response at
// most MaxBytes, capped at maxFetchResponseBytes, except that the first
// batch found is returned whole even when larger (KIP-74), so a consumer
// always progresses.
//
// Long poll: when fewer than MinBytes of records are available and no
// partition has an error, the handler waits until one of the requested
// partitions applies a new entry, reads again, and answers once MinBytes
// are there or MaxWaitMs has passed (error 0, offsets filled in).
var fetchAPI = api{
	key:          1,
	name:         "Fetch",
	minVersion:   4,
	maxVersion:   11,
	handle:       handleFetch,
	needsCluster: true,
}

// fetchSessionIDNotFound is FETCH_SESSION_ID_NOT_FOUND (core does not
// list it: sessions are a wire matter).
const fetchSessionIDNotFound int16 = 70

// maxFetchWait caps a client's MaxWaitMs.
const maxFetchWait = 5 * time.Minute

// maxFetchResponseBytes caps a client's MaxBytes, as Kafka's broker setting
// fetch.max.bytes (same default, 55 MiB) does: the response is built in
// memory, so a client asking for gigabytes must not get them at once.
const maxFetchResponseBytes = 55 << 20

func handleFetch(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.FetchRequest)
	if !ok {
		return nil, fmt.Errorf("Fetch handler got %T", req)
	}
	resp := kmsg.NewPtrFetchResponse()
	resp.SessionID = 0
	if r.SessionID != 0 && r.SessionEpoch > 0 {
		resp.ErrorCode = fetchSessionIDNotFound
		return resp, nil
	}
	wait := min(time.Duration(max(r.MaxWaitMillis, 0))*time.Millisecond, maxFetchWait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		changed, size, failed := fetchOnce(rc.cluster, r, resp, rc.bufs)
		if failed || size >= int64(r.MinBytes) || len(changed) == 0 || wait == 0 {
			return resp, nil
		}
		if !waitAny(ctx, timer.C, changed) {
			// Time is up (or the connection is closing): read once more
			// and answer whatever is there.
			fetchOnce(rc.cluster, r, resp, rc.bufs)
			return resp, nil
		}
	}
}

// fetchOnce reads every requested partition into resp (replacing its
// topics) and returns the partitions' change channels, the record bytes
// read, and whether some partition answered with an error.
//
// Each partition is read into a buffer from bufs; the records of an earlier
// round in resp go back to bufs first.
func fetchOnce(cluster Cluster, r *kmsg.FetchRequest, resp *kmsg.FetchResponse, bufs *bufPool) (changed []<-chan struct{}, size int64, failed bool) {
	recycleRecords(bufs, resp)
	resp.Topics = resp.Topics[:0]
	budget := min(int64(r.MaxBytes), maxFetchResponseBytes)
	for _, rt := range r.Topics {
		out := kmsg.NewFetchResponseTopic()
		out.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewFetchResponseTopicPartition()
			op.Partition = rp.Partition
			op.HighWatermark, op.LastStableOffset, op.LogStartOffset = -1, -1, -1
			op.PreferredReadReplica = -1
			op.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			// Empty, never null: kmsg writes a nil slice as length -1, which
			// librdkafka rejects as a parse failure and kafka-python
			// crashes on. Kafka sends an empty record set.
			op.RecordBatches = []byte{}
			limit := min(int64(rp.PartitionMaxBytes), budget)
			if size == 0 && limit <= 0 && rp.PartitionMaxBytes > 0 {
				limit = 1 // nothing returned yet: the first batch comes whole anyway
			}
			buf := bufs.get(int(limit))
			res, ch, err := cluster.Fetch(rt.Topic, rp.Partition, rp.FetchOffset, int32(max(limit, 0)), buf)
			if !sameArray(res.Records, buf) {
				bufs.put(buf) // nothing read into it is kept
			}
			switch {
			case err != nil:
				op.ErrorCode = int16(readErrorCode(err))
				failed = true
			default:
				op.HighWatermark = res.HighWatermark
				op.LastStableOffset = res.LastStableOffset
				op.LogStartOffset = res.LogStartOffset
				if res.Err != nil {
					op.ErrorCode = int16(res.Err.Code)
					failed = true
				} else {
					if res.Records != nil {
						op.RecordBatches = res.Records
					}
					size += int64(len(res.Records))
					budget -= int64(len(res.Records))
				}
				if ch != nil {
					changed = append(changed, ch)
				}
			}
			out.Partitions = append(out.Partitions, op)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return changed, size, failed
}

// recycleRecords hands the record buffers of a Fetch response to bufs and
// empties them; any other response is left alone.
func recycleRecords(bufs *bufPool, resp kmsg.Response) {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok || bufs == nil {
		return
	}
	for i := range f.Topics {
		for j := range f.Topics[i].Partitions {
			p := &f.Topics[i].Partitions[j]
			bufs.put(p.RecordBatches)
			p.RecordBatches = []byte{}
		}
	}
}

// waitAny waits until one of chans is closed (true), or until expired fires
// or ctx ends (false).
func waitAny(ctx context.Context, expired <-chan time.Time, chans []<-chan struct{}) bool {
	wake := make(chan struct{}, 1)
	stop := make(chan struct{})
	defer close(stop)
	for _, ch := range chans {
		go func(ch <-chan struct{}) {
			select {
			case <-ch:
				select {
				case wake <- struct{}{}:
				default:
				}
			case <-stop:
			}
		}(ch)
	}
	select {
	case <-wake:
		return true
	case <-expired:
		return false
	case <-ctx.Done():
		return false
	}
}

// readErrorCode is the code for a Cluster read error: its own code when it
// carries one, else NOT_LEADER_OR_FOLLOWER (the local replica is not
// readable right now, e.g. stopping: clients refresh metadata and retry).
func readErrorCode(err error) core.Code {
	var ke *core.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return core.NotLeaderOrFollower
}
