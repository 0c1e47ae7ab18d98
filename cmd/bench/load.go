package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// producer settings shared by every scenario: acks=all, idempotent (the
// franz-go default), no compression (the payload is random and would not
// compress), records spread round-robin over the partitions, and at most
// inFlight records handed to the client and not yet acknowledged.
//
// Linger is 0: a batch is sent as soon as one of the client's five produce
// requests per broker is free, so batches grow with the load while earlier
// requests wait for their commit. franz-go's default since v1.20 is 10 ms,
// which holds every partition's batch for 10 ms whatever the load: with 512
// records in flight that capped every run near 512 records per 16 ms (about
// 31,000 records/s) and made one record's acknowledgement take 12 ms on an
// idle single broker that commits it in 0.7 ms (docs/benchmarks/README.md).
func producerOpts(topic string) []kgo.Opt {
	return []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerBatchMaxBytes(1 << 20),
		kgo.ProducerLinger(0),
	}
}

// loadResult is one produce run: how much was acknowledged, how fast, and
// the acknowledgement latency of each record (from the call to Produce to
// its promise).
type loadResult struct {
	Records int64
	Bytes   int64
	Elapsed time.Duration
	Errors  int64
	Ack     summary
	E2E     summary // only for fixed-rate runs with a consumer
	// BrokerCPU is the CPU time (user + system) every broker used during
	// the run: CPU per record is a cost that a busy host distorts far less
	// than records/s.
	BrokerCPU time.Duration
}

func (r loadResult) recordsPerSec() float64 { return float64(r.Records) / r.Elapsed.Seconds() }
func (r loadResult) mbPerSec() float64      { return float64(r.Bytes) / r.Elapsed.Seconds() / (1 << 20) }

// cpuUsPerRecord is the brokers' CPU time per acknowledged record, in µs.
func (r loadResult) cpuUsPerRecord() float64 {
	if r.Records == 0 {
		return 0
	}
	return float64(r.BrokerCPU.Microseconds()) / float64(r.Records)
}

// payload returns n random bytes, made once: kgo does not modify a
// record's value, so every record may share it.
func payload(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// produceMax produces as fast as the broker acknowledges, with at most
// inFlight unacknowledged records, for d.
//
// The same load runs for warmup before the measured d: records sent during
// warm-up are acknowledged but not counted, and the brokers' CPU is taken
// from its end. A broker's first seconds under load are not its steady
// state (the Go heap and pebble's memtables grow to size, WAL files are
// created rather than reused), and without a warm-up each run's figures
// depended on what the run before it had left behind.
func produceMax(ctx context.Context, c *cluster, topic string, recordBytes, inFlight int, warmup, d time.Duration) (loadResult, error) {
	cl, err := c.Client(producerOpts(topic)...)
	if err != nil {
		return loadResult{}, err
	}
	defer cl.Close()
	value := payload(recordBytes)
	lat := newLatencies()
	var acked, failed atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, inFlight)
	measureFrom := time.Now().Add(warmup)
	deadline := measureFrom.Add(d)
	var (
		start     time.Time // when measuring began
		cpu0      time.Duration
		measuring bool
	)
	runCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var wg sync.WaitGroup
produce:
	for runCtx.Err() == nil {
		select {
		case sem <- struct{}{}:
		case <-runCtx.Done():
			break produce // every slot held past the end: stuck records
		}
		wg.Add(1)
		sent := time.Now()
		if !measuring && !sent.Before(measureFrom) {
			measuring, start, cpu0 = true, sent, c.CPUTime()
		}
		counted := measuring
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			switch {
			case err != nil:
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			case counted:
				acked.Add(1)
				lat.add(time.Since(sent))
			}
			<-sem
			wg.Done()
		})
	}
	drained := drain(&wg)
	elapsed := time.Since(start)
	r := loadResult{Records: acked.Load(), Bytes: acked.Load() * int64(recordBytes),
		Elapsed: elapsed, Errors: failed.Load(), Ack: lat.summary(), BrokerCPU: c.CPUTime() - cpu0}
	if !drained {
		return r, fmt.Errorf("%d records still unacknowledged %v after the run ended", len(sem), drainTimeout)
	}
	if e := firstErr.Load(); e != nil {
		return r, fmt.Errorf("%d produce errors, the first: %v", r.Errors, e)
	}
	return r, nil
}

// produceAtRate produces rate records/s for d to a new, empty topic while a
// consumer reads it, and measures both the acknowledgement latency and
// the end-to-end latency (produce call to the consumer's receipt; the send
// time travels in the first 8 bytes of the value, and both ends share this
// process's clock). As in produceMax, the first warmup of the run is not
// measured: its records are produced and must all be consumed, but their
// latencies are not recorded.
func produceAtRate(ctx context.Context, c *cluster, topic string, recordBytes int, rate float64, warmup, d time.Duration) (loadResult, error) {
	cl, err := c.Client(producerOpts(topic)...)
	if err != nil {
		return loadResult{}, err
	}
	defer cl.Close()
	// The topic is new and empty: reading from the start sees every record
	// this run sends, whenever the consumer gets its first offsets.
	consumer, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return loadResult{}, err
	}
	defer consumer.Close()

	e2e := newLatencies()
	var received atomic.Int64
	begin := time.Now()
	measureFrom := begin.Add(warmup)
	cctx, stopConsumer := context.WithCancel(ctx)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for cctx.Err() == nil {
			fs := consumer.PollFetches(cctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				if len(r.Value) >= 8 {
					if sent := time.Unix(0, int64(binary.BigEndian.Uint64(r.Value))); !sent.Before(measureFrom) {
						e2e.add(now.Sub(sent))
					}
					received.Add(1)
				}
			})
		}
	}()

	ack := newLatencies()
	var acked, ackedAll, failed, pending atomic.Int64 // acked: measured records only
	var wg sync.WaitGroup
	const tick = time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	due := 0.0
	for now := begin; now.Sub(measureFrom) < d && ctx.Err() == nil; now = <-ticker.C {
		due += rate * tick.Seconds()
		for ; due >= 1; due-- {
			v := make([]byte, max(recordBytes, 8))
			sent := time.Now()
			binary.BigEndian.PutUint64(v, uint64(sent.UnixNano()))
			measured := !sent.Before(measureFrom)
			wg.Add(1)
			pending.Add(1)
			cl.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
				defer pending.Add(-1)
				switch {
				case err != nil:
					failed.Add(1)
				case measured:
					acked.Add(1)
					ackedAll.Add(1)
					ack.add(time.Since(sent))
				default:
					ackedAll.Add(1)
				}
				wg.Done()
			})
		}
	}
	drained := drain(&wg)
	elapsed := time.Since(measureFrom)
	// Let the consumer catch the last records, but not forever.
	for wait := time.Now(); received.Load() < ackedAll.Load() && time.Since(wait) < 10*time.Second; {
		time.Sleep(10 * time.Millisecond)
	}
	stopConsumer()
	<-consumed
	r := loadResult{Records: acked.Load(), Bytes: acked.Load() * int64(recordBytes), Elapsed: elapsed,
		Errors: failed.Load(), Ack: ack.summary(), E2E: e2e.summary()}
	if !drained {
		return r, fmt.Errorf("%d records still unacknowledged %v after the run ended", pending.Load(), drainTimeout)
	}
	if r.Errors > 0 {
		return r, fmt.Errorf("%d produce errors", r.Errors)
	}
	if got, all := received.Load(), ackedAll.Load(); got < all {
		return r, fmt.Errorf("consumer received %d of %d acknowledged records", got, all)
	}
	return r, nil
}

// drainTimeout bounds the wait for the records still in flight when a
// produce run ends. franz-go retries a record until it is acknowledged, so
// a partition that never accepts one would otherwise hang the benchmark;
// a run that times out reports an error instead of a figure.
const drainTimeout = 2 * time.Minute

// drain waits for wg, at most drainTimeout; false: it timed out.
func drain(wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(drainTimeout):
		return false
	}
}

// consumeAll reads topic from the start until it has read every record up
// to the high watermarks seen when it began.
func consumeAll(ctx context.Context, c *cluster, topic string) (loadResult, error) {
	admCl, err := c.Client()
	if err != nil {
		return loadResult{}, err
	}
	ends, err := kadm.NewClient(admCl).ListEndOffsets(ctx, topic)
	admCl.Close()
	if err != nil {
		return loadResult{}, err
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(8<<20))
	if err != nil {
		return loadResult{}, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var got, bytes int64
	start := time.Now()
	for got < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			got++
			bytes += int64(len(r.Value))
		})
		if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return loadResult{}, err
		}
	}
	r := loadResult{Records: got, Bytes: bytes, Elapsed: time.Since(start)}
	if got < want {
		return r, fmt.Errorf("read %d of %d records", got, want)
	}
	return r, nil
}
