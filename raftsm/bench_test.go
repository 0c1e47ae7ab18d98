package raftsm

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/partition"
)

// The benchmarks below time the produce path of one partition shard over
// real dragonboat NodeHosts in one process (loopback transport, real disk),
// below net/: a proposal of a Produce command through the leader's
// SyncPropose until it is committed by a quorum (every member fsyncs its
// Raft log) and applied. They report records/s and the proposal latency
// (p50, p99). They never fail on time.
//
//	go test ./raftsm -run '^$' -bench BenchmarkPartitionPropose -benchtime 3s
//
// Sub-benchmarks vary the replica count, the state machine (the production
// partitionSM over pebble, or a null one that applies nothing, to separate
// Raft's cost from the state DB's) and the proposers in flight.

// benchRecordBytes and benchRecordsPerBatch shape one proposal like a
// franz-go batch of 1 KiB records.
const (
	benchRecordBytes     = 1024
	benchRecordsPerBatch = 64
)

// benchShard is the shard the benchmarks propose to.
const benchShard = 200

// nullSM is an IOnDiskStateMachine that applies nothing: the Raft path's
// cost alone.
type nullSM struct{ applied uint64 }

func (n *nullSM) Open(<-chan struct{}) (uint64, error) { return 0, nil }
func (n *nullSM) Update(es []sm.Entry) ([]sm.Entry, error) {
	for i := range es {
		es[i].Result = applyResult(nil, nil)
		n.applied = es[i].Index
	}
	return es, nil
}
func (n *nullSM) Lookup(any) (any, error)                            { return nil, nil }
func (n *nullSM) Sync() error                                        { return nil }
func (n *nullSM) PrepareSnapshot() (any, error)                      { return n.applied, nil }
func (n *nullSM) SaveSnapshot(any, io.Writer, <-chan struct{}) error { return nil }
func (n *nullSM) RecoverFromSnapshot(io.Reader, <-chan struct{}) error {
	return nil
}
func (n *nullSM) Close() error { return nil }

// benchCluster is replicas NodeHosts on loopback holding benchShard.
type benchCluster struct {
	hosts []*dragonboat.NodeHost
	dbs   []*stateDB
}

func startBenchCluster(b *testing.B, replicas int, null bool) *benchCluster {
	b.Helper()
	addrs := freeAddrsTB(b, replicas)
	members := map[uint64]dragonboat.Target{}
	for i, a := range addrs {
		members[uint64(i+1)] = a
	}
	dirs := make([]string, replicas)
	for i := range dirs {
		dirs[i] = b.TempDir()
	}
	// Registered after TempDir's cleanups, so it runs before them.
	c := &benchCluster{}
	b.Cleanup(func() {
		for _, nh := range c.hosts {
			nh.Close()
		}
		for _, db := range c.dbs {
			db.close()
		}
	})
	timing := DefaultRaftTiming()
	for i := 0; i < replicas; i++ {
		dir := dirs[i]
		db, err := openStateDB(filepath.Join(dir, "state"))
		if err != nil {
			b.Fatal(err)
		}
		c.dbs = append(c.dbs, db)
		nh, err := newNodeHost(dir, addrs[i], timing, &events{}, newRaftLayout)
		if err != nil {
			b.Fatal(err)
		}
		c.hosts = append(c.hosts, nh)
		create := func(uint64, uint64) sm.IOnDiskStateMachine {
			if null {
				return &nullSM{}
			}
			return newPartitionSM(benchShard, db, partition.DefaultConfig())
		}
		if err := nh.StartOnDiskReplica(members, false, create, shardConfig(benchShard, uint64(i+1), timing)); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// freeAddrsTB is freeAddrs for a benchmark.
func freeAddrsTB(b *testing.B, n int) []string {
	b.Helper()
	var out []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

// leader waits for an elected leader and returns its host.
func (c *benchCluster) leader(b *testing.B) *dragonboat.NodeHost {
	b.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for i, nh := range c.hosts {
			id, _, ok, err := nh.GetLeaderID(benchShard)
			if err == nil && ok && id == uint64(i+1) {
				return nh
			}
		}
	}
	b.Fatal("no leader within 20s")
	return nil
}

// benchProduceCmd is one Produce of n records of benchRecordBytes each.
func benchProduceCmd(n int) []byte {
	value := make([]byte, benchRecordBytes)
	for i := range value {
		value[i] = byte(i * 7)
	}
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{TimestampMs: 1000, Value: value}
	}
	return partition.EncodeCommand(partition.Produce{NowMs: 1000, MaxMessageBytes: 8 << 20,
		Records: batch.Build(batch.BuildSpec{Records: recs})})
}

func BenchmarkPartitionPropose(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		for _, null := range []bool{false, true} {
			for _, inFlight := range []int{1, 8} {
				smName := "pebble"
				if null {
					smName = "null"
				}
				name := fmt.Sprintf("rf=%d/sm=%s/inflight=%d", replicas, smName, inFlight)
				b.Run(name, func(b *testing.B) { benchPropose(b, replicas, null, inFlight) })
			}
		}
	}
}

func benchPropose(b *testing.B, replicas int, null bool, inFlight int) {
	c := startBenchCluster(b, replicas, null)
	nh := c.leader(b)
	cmd := benchProduceCmd(benchRecordsPerBatch)
	propose := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := nh.SyncPropose(ctx, nh.GetNoOPSession(benchShard), cmd)
		if err != nil {
			return err
		}
		_, err = resultData(res)
		return err
	}
	// Warm up: connections, the first fsyncs.
	for i := 0; i < 10; i++ {
		if err := propose(); err != nil {
			b.Fatal(err)
		}
	}
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	var wg sync.WaitGroup
	next := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	b.SetBytes(int64(len(cmd)))
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	var firstErr error
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				t0 := time.Now()
				err := propose()
				d := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N*benchRecordsPerBatch)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// CPU per record: every replica runs in this process, so this is the
	// whole cluster's cost, which a busy host distorts far less than time.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*benchRecordsPerBatch), "cpu-µs/record")
}

// processCPU is the user + system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
