package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	lin "github.com/tidemark/tidemark/linearizability"
)

// Workload bounds and pacing. The pauses keep the harness's CPU modest on
// a shared machine; they are not what is being tested.
const (
	// opTimeout bounds one client operation; past it the outcome is unknown.
	opTimeout = 10 * time.Second
	// producePause is each producer's pause between produces.
	producePause = 20 * time.Millisecond
	// readPause is each direct reader's pause between fetches.
	readPause = 50 * time.Millisecond
	// pollTimeout bounds one consumer poll.
	pollTimeout = 2 * time.Second
	// offsetsPause is the pause between the offset reader's rounds of
	// FetchCommitted and ListOffsets.
	offsetsPause = 300 * time.Millisecond
	// fetchMaxBytes bounds one direct fetch's response.
	fetchMaxBytes = 1 << 20
	// fetchMaxWaitMs is a direct fetch's long-poll wait.
	fetchMaxWaitMs = 100
	// keysPerProducer is how many distinct keys a producer cycles through.
	keysPerProducer = 4
	// groupSessionTimeout is the consumer group session timeout.
	groupSessionTimeout = 10 * time.Second
	// minMemberLife and maxMemberLife bound how long a group consumer
	// stays before it leaves and a new one joins in its place: the churn
	// makes new generations and exercises fencing.
	minMemberLife = 8 * time.Second
	maxMemberLife = 20 * time.Second
)

// WorkloadConfig sizes a workload.
type WorkloadConfig struct {
	Topic      string
	Partitions int32
	Group      string
	// IdempotentProducers are franz-go idempotent producers;
	// PlainProducers send raw non-idempotent Produce requests and never
	// retry, so a duplicate from either is the broker's doing.
	IdempotentProducers int
	PlainProducers      int
	GroupConsumers      int
	DirectReaders       int
}

// workload runs the clients and records every operation.
type workload struct {
	leaders leaderCache
	cfg     WorkloadConfig
	cluster *Cluster
	rec     *lin.Recorder
	now     func() int64
	clients atomic.Int64 // next history client id
	wg      sync.WaitGroup
	errs    chan error
}

func newWorkload(cfg WorkloadConfig, c *Cluster, rec *lin.Recorder, now func() int64) *workload {
	return &workload{cfg: cfg, cluster: c, rec: rec, now: now, errs: make(chan error, 64)}
}

func (w *workload) newClientID() int { return int(w.clients.Add(1) - 1) }

// must reports a recorder misuse, which is a harness bug.
func (w *workload) must(err error) {
	if err != nil {
		select {
		case w.errs <- err:
		default:
		}
	}
}

func (w *workload) abandon(id int, err error) { w.must(w.rec.Abandon(id, w.now(), err.Error())) }
func (w *workload) fail(id int, err error)    { w.must(w.rec.Fail(id, w.now(), err.Error())) }

// start launches every client; they stop when ctx is done.
func (w *workload) start(ctx context.Context, seed uint64) {
	n := 0
	for range w.cfg.IdempotentProducers {
		n++
		w.spawn(func() { w.producer(ctx, rand.New(rand.NewPCG(seed, uint64(n)))) })
	}
	for range w.cfg.PlainProducers {
		n++
		w.spawn(func() { w.plainProducer(ctx, rand.New(rand.NewPCG(seed, uint64(n)))) })
	}
	for range w.cfg.GroupConsumers {
		n++
		rng := rand.New(rand.NewPCG(seed, uint64(n)))
		w.spawn(func() {
			for ctx.Err() == nil {
				life := minMemberLife + time.Duration(rng.Int64N(int64(maxMemberLife-minMemberLife)))
				mctx, cancel := context.WithTimeout(ctx, life)
				w.groupConsumer(mctx)
				cancel()
			}
		})
	}
	for range w.cfg.DirectReaders {
		n++
		w.spawn(func() { w.directReader(ctx, rand.New(rand.NewPCG(seed, uint64(n)))) })
	}
	w.spawn(func() { w.offsetReader(ctx) })
}

func (w *workload) spawn(f func()) {
	w.wg.Add(1)
	go func() { defer w.wg.Done(); f() }()
}

func (w *workload) wait() { w.wg.Wait() }

// producer is franz-go's idempotent producer: one keyed record at a time
// to a random partition, ProduceSync.
func (w *workload) producer(ctx context.Context, rng *rand.Rand) {
	client := w.newClientID()
	opts := []kgo.Opt{
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(opTimeout),
		kgo.ProducerLinger(0),
	}
	cl, err := w.cluster.Client(opts...)
	if err != nil {
		w.must(err)
		return
	}
	defer cl.Close()
	const kind = "i"
	for seq := 0; ctx.Err() == nil; seq++ {
		p := rng.Int32N(w.cfg.Partitions)
		rec := lin.Record{Key: fmt.Sprintf("%s%d-k%d", kind, client, seq%keysPerProducer), Value: fmt.Sprintf("%s%d-%d", kind, client, seq)}
		id := w.rec.Invoke(client, w.now(), &lin.Produce{Topic: w.cfg.Topic, Partition: p, Records: []lin.Record{rec}})
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		r := &kgo.Record{Topic: w.cfg.Topic, Partition: p, Key: []byte(rec.Key), Value: []byte(rec.Value)}
		err := cl.ProduceSync(octx, r).FirstErr()
		cancel()
		if err != nil {
			// Whatever the error, the batch may have been appended (a
			// timeout, a lost answer, a proposal that commits later):
			// unknown, never failed.
			w.abandon(id, err)
		} else {
			w.must(w.rec.Complete(id, w.now(), &lin.ProduceResult{BaseOffset: r.Offset}))
		}
		sleep(ctx, producePause)
	}
}

// directReader fetches partitions at explicit offsets from their leaders,
// each partition from 0 onwards, recording what each fetch returned.
func (w *workload) directReader(ctx context.Context, rng *rand.Rand) {
	client := w.newClientID()
	cl, err := w.cluster.Client()
	if err != nil {
		w.must(err)
		return
	}
	defer cl.Close()
	next := make([]int64, w.cfg.Partitions)
	for ctx.Err() == nil {
		p := rng.Int32N(w.cfg.Partitions)
		if n, _, ok := w.fetch(ctx, cl, client, p, next[p]); ok {
			next[p] = n
		}
		sleep(ctx, readPause)
	}
}

// fetch records one Fetch of p at offset from its leader and returns the
// offset after the last record returned (offset itself if none) and the
// high watermark; ok is false if the fetch failed.
func (w *workload) fetch(ctx context.Context, cl *kgo.Client, client int, p int32, offset int64) (next, hw int64, ok bool) {
	leader, err := w.leaders.get(ctx, cl, w.cfg.Topic, p)
	if err != nil {
		return offset, -1, false
	}
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = fetchMaxWaitMs
	req.MinBytes = 1
	req.MaxBytes = fetchMaxBytes
	req.SessionEpoch = -1
	t := kmsg.NewFetchRequestTopic()
	t.Topic = w.cfg.Topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = p
	rp.FetchOffset = offset
	rp.LogStartOffset = -1
	rp.PartitionMaxBytes = fetchMaxBytes
	t.Partitions = append(t.Partitions, rp)
	req.Topics = append(req.Topics, t)
	id := w.rec.Invoke(client, w.now(), &lin.Fetch{Topic: w.cfg.Topic, Partition: p, Offset: offset})
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	raw, err := cl.Broker(int(leader)).Request(octx, req)
	cancel()
	if err != nil {
		// A fetch changes nothing: whatever went wrong, it did not happen.
		w.leaders.forget(p)
		w.fail(id, err)
		return offset, -1, false
	}
	resp := raw.(*kmsg.FetchResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		w.fail(id, fmt.Errorf("fetch response with %d topics", len(resp.Topics)))
		return offset, -1, false
	}
	part := &resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(part.ErrorCode); err != nil {
		w.leaders.forget(p)
		w.fail(id, err)
		return offset, -1, false
	}
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Offset: offset, Topic: w.cfg.Topic, Partition: p}, part, kgo.DefaultDecompressor(), nil)
	if fp.Err != nil {
		w.fail(id, fp.Err)
		return offset, -1, false
	}
	out := &lin.FetchResult{HighWatermark: part.HighWatermark}
	next = offset
	for _, r := range fp.Records {
		out.Records = append(out.Records, lin.FetchedRecord{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
		next = max(next, r.Offset+1)
	}
	w.must(w.rec.Complete(id, w.now(), out))
	return next, part.HighWatermark, true
}

// finalRead reads every partition from offset 0 up to its high watermark,
// retrying until done or ctx ends.
func (w *workload) finalRead(ctx context.Context) error {
	client := w.newClientID()
	cl, err := w.cluster.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	for p := range w.cfg.Partitions {
		next, hw := int64(0), int64(-1)
		for hw < 0 || next < hw {
			if ctx.Err() != nil {
				return fmt.Errorf("final read of %s/%d stopped at offset %d (high watermark %d): %w", w.cfg.Topic, p, next, hw, ctx.Err())
			}
			n, h, ok := w.fetch(ctx, cl, client, p, next)
			if !ok {
				sleep(ctx, pollInterval)
				continue
			}
			if hw < 0 {
				hw = h // the target: everything committed when the read began
			}
			if n == next && next < hw {
				sleep(ctx, pollInterval)
			}
			next = n
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
