package raftnet

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/tidemark/tidemark/brokerproc"
)

// counter is a state machine that sums the 8-byte values proposed to it.
type counter struct {
	mu  sync.Mutex
	sum uint64
}

func (c *counter) Update(e sm.Entry) (sm.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sum += binary.BigEndian.Uint64(e.Cmd)
	return sm.Result{Value: c.sum}, nil
}

func (c *counter) Lookup(any) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum, nil
}

func (c *counter) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Padding makes the snapshot several chunks long.
	buf := binary.BigEndian.AppendUint64(make([]byte, 0, 8+snapshotPadBytes), c.sum)
	_, err := w.Write(append(buf, make([]byte, snapshotPadBytes)...))
	return err
}

func (c *counter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sum = binary.BigEndian.Uint64(b)
	return nil
}

func (c *counter) Close() error { return nil }

const (
	compatShard      = 1
	snapshotPadBytes = 5 << 20 // three chunks of dragonboat's 2 MiB
)

// TestTalksToDragonboatTransport: NodeHosts on this transport and on
// dragonboat's built-in one form one shard, replicate, and send each other
// snapshots in both directions, so the frame is dragonboat's byte for byte.
func TestTalksToDragonboatTransport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five NodeHosts")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Replicas 1 and 4 use dragonboat's transport; 2, 3 and 5 use ours.
	ours := map[uint64]bool{2: true, 3: true, 5: true}
	addrs := map[uint64]string{}
	for id := uint64(1); id <= 5; id++ {
		a, err := brokerproc.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		addrs[id] = a
	}
	chunksSent, chunksReceived := map[uint64]*atomic.Int64{}, map[uint64]*atomic.Int64{}
	hosts := map[uint64]*dragonboat.NodeHost{}
	counters := map[uint64]*counter{}
	t.Cleanup(func() {
		for _, nh := range hosts {
			nh.Close()
		}
	})
	start := func(id uint64, members map[uint64]dragonboat.Target, join bool) {
		t.Helper()
		nhc := config.NodeHostConfig{NodeHostDir: t.TempDir(), RTTMillisecond: 20, RaftAddress: addrs[id]}
		if ours[id] {
			chunksSent[id], chunksReceived[id] = &atomic.Int64{}, &atomic.Int64{}
			nhc.Expert.TransportFactory = &countingFactory{sent: chunksSent[id], received: chunksReceived[id]}
		}
		nh, err := dragonboat.NewNodeHost(nhc)
		if err != nil {
			t.Fatal(err)
		}
		hosts[id] = nh
		c := &counter{}
		counters[id] = c
		cfg := config.Config{ShardID: compatShard, ReplicaID: id, ElectionRTT: 10, HeartbeatRTT: 1, CheckQuorum: true, SnapshotEntries: 0}
		if err := nh.StartReplica(members, join, func(uint64, uint64) sm.IStateMachine { return c }, cfg); err != nil {
			t.Fatal(err)
		}
	}
	initial := map[uint64]dragonboat.Target{1: addrs[1], 2: addrs[2], 3: addrs[3]}
	for id := range initial {
		start(id, initial, false)
	}
	var want uint64
	propose := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			v := uint64(i + 1)
			cmd := binary.BigEndian.AppendUint64(nil, v)
			if err := retry(ctx, func(ctx context.Context) error {
				_, err := hosts[1].SyncPropose(ctx, hosts[1].GetNoOPSession(compatShard), cmd)
				return err
			}); err != nil {
				t.Fatalf("propose: %v", err)
			}
			want += v
		}
	}
	// compactAll snapshots every replica and drops its whole log, so a
	// replica that joins next can only catch up from a snapshot.
	compactAll := func() {
		t.Helper()
		for id, nh := range hosts {
			opt := dragonboat.SnapshotOption{OverrideCompactionOverhead: true, CompactionOverhead: 0}
			if err := retry(ctx, func(ctx context.Context) error {
				_, err := nh.SyncRequestSnapshot(ctx, compatShard, opt)
				return err
			}); err != nil {
				t.Fatalf("snapshot of replica %d: %v", id, err)
			}
		}
	}
	// join adds a replica while leader (on the given transport) leads.
	join := func(id, leader uint64) {
		t.Helper()
		if err := retry(ctx, func(ctx context.Context) error {
			if l, _, ok, _ := hosts[1].GetLeaderID(compatShard); !ok || l != leader {
				_ = hosts[1].RequestLeaderTransfer(compatShard, leader)
				return fmt.Errorf("leader is %d, want %d", l, leader)
			}
			return hosts[leader].SyncRequestAddReplica(ctx, compatShard, id, addrs[id], 0)
		}); err != nil {
			t.Fatalf("add replica %d: %v", id, err)
		}
		start(id, nil, true)
	}

	caughtUp := func(id uint64) {
		t.Helper()
		if err := retry(ctx, func(context.Context) error {
			if got, _ := counters[id].Lookup(nil); got != want {
				return fmt.Errorf("replica %d applied a sum of %v, want %d", id, got, want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A snapshot is at least snapshotPadBytes / 2 MiB chunks.
	const minChunks = snapshotPadBytes / (2 << 20)
	propose(20)
	compactAll()
	join(4, 2) // a snapshot from our transport to dragonboat's
	propose(20)
	caughtUp(4)
	if n := chunksSent[2].Load(); n < minChunks {
		t.Fatalf("replica 2 sent %d snapshot chunks, want at least %d", n, minChunks)
	}
	compactAll()
	join(5, 1) // and from dragonboat's to ours
	propose(20)
	caughtUp(5)
	if n := chunksReceived[5].Load(); n < minChunks {
		t.Fatalf("replica 5 received %d snapshot chunks, want at least %d", n, minChunks)
	}

	for id := range counters {
		caughtUp(id)
	}
}

// countingFactory is Factory, counting the snapshot chunks its transport
// sends and receives.
type countingFactory struct {
	Factory
	sent, received *atomic.Int64
}

func (f *countingFactory) Create(nhc config.NodeHostConfig, onBatch raftio.MessageHandler, onChunk raftio.ChunkHandler) raftio.ITransport {
	count := func(c pb.Chunk) bool {
		f.received.Add(1)
		return onChunk(c)
	}
	return &countingTransport{ITransport: f.Factory.Create(nhc, onBatch, count), sent: f.sent}
}

type countingTransport struct {
	raftio.ITransport
	sent *atomic.Int64
}

func (t *countingTransport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	c, err := t.ITransport.GetSnapshotConnection(ctx, target)
	if err != nil {
		return nil, err
	}
	return &countingSnapshotConn{ISnapshotConnection: c, sent: t.sent}, nil
}

type countingSnapshotConn struct {
	raftio.ISnapshotConnection
	sent *atomic.Int64
}

func (c *countingSnapshotConn) SendChunk(ch pb.Chunk) error {
	c.sent.Add(1)
	return c.ISnapshotConnection.SendChunk(ch)
}

// retry calls f with a short deadline until it succeeds or ctx ends.
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := f(attempt)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
