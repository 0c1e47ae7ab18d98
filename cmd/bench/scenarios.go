package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// throughputRun is one cell of the produce/consume matrix.
type throughputRun struct {
	Brokers     int
	Partitions  int32
	RecordBytes int
	Produce     loadResult
	Consume     loadResult
	Err         string `json:",omitempty"`
}

// latencyRun is a fixed-rate run at a fraction of the measured maximum.
type latencyRun struct {
	Brokers     int
	Partitions  int32
	RecordBytes int
	Rate        float64 // records/s offered
	Result      loadResult
	Err         string `json:",omitempty"`
}

// scaleRun is the many-partitions cluster.
type scaleRun struct {
	Brokers      int
	Partitions   int32
	StartReady   time.Duration // processes started → every broker registered
	CreateReady  time.Duration // CreateTopics sent → every partition has a leader
	RestartReady time.Duration // all brokers restarted → every partition has a leader
	RSSBytes     []int64       // per broker, after the produce run
	Produce      loadResult
	Err          string `json:",omitempty"`
}

// recoveryRun is leader failovers: SIGKILL of a partition's leader to the
// first acknowledged produce on that partition.
type recoveryRun struct {
	Trials []time.Duration
	Err    string `json:",omitempty"`
}

// results is everything one `bench` run measured.
type results struct {
	Started    time.Time
	Commit     string
	GoVersion  string
	CPUs       int
	InFlight   int
	Duration   time.Duration
	Warmup     time.Duration
	Throughput []throughputRun
	Latency    []latencyRun
	Scale      *scaleRun
	Recovery   *recoveryRun
}

// runner holds the settings every scenario shares.
type runner struct {
	profileDir string // "": no profiles
	binary     string
	workDir    string
	duration   time.Duration
	warmup     time.Duration // load before each produce measurement
	inFlight   int
	sizes      []int
	parts      []int32
	brokers    []int
	scaleN     int32
	only       map[string]bool
	res        *results
}

func (r *runner) want(s string) bool { return len(r.only) == 0 || r.only[s] }

// run runs every selected scenario, one cluster size at a time.
func (r *runner) run(ctx context.Context) {
	for _, n := range r.brokers {
		if !r.want("produce") && !r.want("latency") && !(n == 3 && r.want("recovery")) {
			continue
		}
		dir := filepath.Join(r.workDir, fmt.Sprintf("brokers-%d", n))
		log.Printf("starting %d broker(s) in %s", n, dir)
		c, err := startCluster(ctx, r.binary, dir, n, r.profileDir != "")
		if err != nil {
			log.Printf("cluster of %d: %v", n, err)
			r.res.Throughput = append(r.res.Throughput, throughputRun{Brokers: n, Err: err.Error()})
			continue
		}
		r.matrix(ctx, c, n)
		if n == 3 && r.want("recovery") {
			r.res.Recovery = r.recovery(ctx, c)
		}
		c.StopAll()
	}
	if r.want("scale") {
		r.res.Scale = r.scale(ctx)
	}
}

// matrix runs the produce/consume matrix and the fixed-rate latency runs
// on one cluster.
func (r *runner) matrix(ctx context.Context, c *cluster, n int) {
	for _, size := range r.sizes {
		for _, p := range r.parts {
			run := throughputRun{Brokers: n, Partitions: p, RecordBytes: size}
			topic := fmt.Sprintf("tp-%d-%d", p, size)
			err := c.createTopic(ctx, topic, p)
			if err == nil && r.want("produce") {
				log.Printf("produce: %d broker(s), %d partitions, %d B records", n, p, size)
				profiled := r.profile(c, fmt.Sprintf("produce-%d-%d-%d", n, p, size), r.warmup+r.duration)
				run.Produce, err = produceMax(ctx, c, topic, size, r.inFlight, r.warmup, r.duration)
				profiled()
				if err == nil {
					log.Printf("  %.0f records/s, %.1f MB/s, ack p50 %v p99 %v, broker CPU %.0f µs/record", run.Produce.recordsPerSec(), run.Produce.mbPerSec(),
						run.Produce.Ack.P50, run.Produce.Ack.P99, run.Produce.cpuUsPerRecord())
					name := fmt.Sprintf("consume-%d-%d-%d", n, p, size)
					profiled, stopClient := r.profile(c, name, consumeProfileDuration), r.profileClient(name)
					run.Consume, err = consumeAll(ctx, c, topic)
					stopClient()
					profiled()
					log.Printf("  consume %.0f records/s", run.Consume.recordsPerSec())
				}
			}
			if err != nil {
				run.Err = err.Error()
				log.Printf("  error: %v", err)
			}
			if r.want("produce") {
				r.res.Throughput = append(r.res.Throughput, run)
			}
			if r.want("latency") && err == nil && run.Produce.Records > 0 && p == 6 {
				r.res.Latency = append(r.res.Latency, r.latency(ctx, c, n, p, size, run.Produce.recordsPerSec()/2))
			}
		}
	}
}

func (r *runner) latency(ctx context.Context, c *cluster, n int, p int32, size int, rate float64) latencyRun {
	run := latencyRun{Brokers: n, Partitions: p, RecordBytes: size, Rate: rate}
	topic := fmt.Sprintf("e2e-%d-%d", p, size)
	log.Printf("latency: %d broker(s), %d partitions, %d B records at %.0f records/s", n, p, size, rate)
	err := c.createTopic(ctx, topic, p)
	if err == nil {
		run.Result, err = produceAtRate(ctx, c, topic, size, rate, r.warmup, r.duration)
	}
	if err != nil {
		run.Err = err.Error()
		log.Printf("  error: %v", err)
	} else {
		log.Printf("  ack p50 %v p99 %v; end-to-end p50 %v p99 %v", run.Result.Ack.P50, run.Result.Ack.P99, run.Result.E2E.P50, run.Result.E2E.P99)
	}
	return run
}

// scale starts a fresh 3-broker cluster, creates one topic of scaleN
// partitions, produces over all of them, measures memory, and restarts
// the whole cluster.
func (r *runner) scale(ctx context.Context) *scaleRun {
	run := &scaleRun{Brokers: 3, Partitions: r.scaleN}
	fail := func(err error) *scaleRun {
		run.Err = err.Error()
		log.Printf("scale: %v", err)
		return run
	}
	dir := filepath.Join(r.workDir, "scale")
	log.Printf("scale: 3 brokers, %d partitions", r.scaleN)
	t0 := time.Now()
	c, err := startCluster(ctx, r.binary, dir, 3, r.profileDir != "")
	if err != nil {
		return fail(err)
	}
	defer c.StopAll()
	run.StartReady = time.Since(t0)
	t0 = time.Now()
	// Any leader, not the preferred one: with 1,000 shards per broker,
	// leader placement takes longer than the cluster does to elect, and
	// this scenario measures readiness, not balance.
	if err := c.CreateTopic(ctx, "scale", r.scaleN, -1); err != nil {
		return fail(err)
	}
	run.CreateReady = time.Since(t0)
	log.Printf("  started in %v, %d partitions led in %v", run.StartReady, r.scaleN, run.CreateReady)
	profiled := r.profile(c, fmt.Sprintf("scale-produce-%d", r.scaleN), r.warmup+r.duration)
	run.Produce, err = produceMax(ctx, c, "scale", 1024, r.inFlight, r.warmup, r.duration)
	profiled()
	if err != nil {
		return fail(err)
	}
	for _, b := range c.Brokers {
		rss, err := b.RSS()
		if err != nil {
			return fail(err)
		}
		run.RSSBytes = append(run.RSSBytes, rss)
	}
	t0 = time.Now()
	if err := c.restartAll(ctx); err != nil {
		return fail(err)
	}
	if err := c.WaitLeaders(ctx, "scale", r.scaleN); err != nil {
		return fail(err)
	}
	run.RestartReady = time.Since(t0)
	log.Printf("  %.0f records/s over all partitions; RSS %v; restarted and led in %v", run.Produce.recordsPerSec(), run.RSSBytes, run.RestartReady)
	return run
}

// recoveryTrials is how many leader kills the recovery scenario measures.
const recoveryTrials = 3

// recovery kills the leader of a one-partition topic while a producer
// keeps producing, and measures the time from the kill to the first
// acknowledged produce sent after it. The killed broker is restarted and
// the cluster settles before the next trial.
func (r *runner) recovery(ctx context.Context, c *cluster) *recoveryRun {
	run := &recoveryRun{}
	const topic = "recovery"
	if err := c.createTopic(ctx, topic, 1); err != nil {
		run.Err = err.Error()
		return run
	}
	for i := 0; i < recoveryTrials; i++ {
		d, err := r.failover(ctx, c, topic)
		if err != nil {
			run.Err = err.Error()
			log.Printf("recovery: %v", err)
			return run
		}
		log.Printf("recovery: first produce %v after the kill", d)
		run.Trials = append(run.Trials, d)
	}
	return run
}

func (r *runner) failover(ctx context.Context, c *cluster, topic string) (time.Duration, error) {
	// A client as an application would configure one to notice a dead
	// leader quickly: metadata may be refreshed every 100 ms on errors.
	cl, err := c.Client(append(producerOpts(topic), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(pctx, &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		return 0, fmt.Errorf("produce before the kill: %w", err)
	}
	leader, err := c.LeaderOf(ctx, topic, 0)
	if err != nil {
		return 0, err
	}
	killed := time.Now()
	c.Kill(leader)
	if err := cl.ProduceSync(pctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		return 0, fmt.Errorf("produce after killing broker %d: %w", leader.ID, err)
	}
	took := time.Since(killed)
	if err := c.Start(leader); err != nil {
		return 0, err
	}
	if err := c.WaitReady(ctx); err != nil {
		return 0, err
	}
	// The next trial kills a broker again; before that, the restarted one
	// must run its replica of the partition and know the leader, or the
	// next kill takes two of three replicas and measures an outage that
	// no single failure causes.
	return took, waitReplicaServing(ctx, cl, leader.ID, topic)
}

// waitReplicaServing waits until broker id's own Metadata answer names a
// leader for partition 0 of topic: its controller replica has caught up
// and its partition replica runs and has heard from the leader.
func waitReplicaServing(ctx context.Context, cl *kgo.Client, id int32, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
		if err == nil && len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) > 0 && resp.Topics[0].Partitions[0].Leader >= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restarted broker %d does not serve %s/0: %w", id, topic, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
