package raftsm

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// counter is the smallest wholeState: it sums the int64 commands it applies.
type counter struct{ sum int64 }

func (c *counter) apply(cmd []byte) ([]byte, error) {
	if len(cmd) != 8 {
		return nil, errors.New("counter command is not 8 bytes")
	}
	c.sum += int64(binary.BigEndian.Uint64(cmd))
	return binary.BigEndian.AppendUint64(nil, uint64(c.sum)), nil
}
func (c *counter) snapshot() []byte { return binary.BigEndian.AppendUint64(nil, uint64(c.sum)) }
func (c *counter) restore(b []byte) error {
	if len(b) != 8 {
		return errors.New("counter snapshot is not 8 bytes")
	}
	c.sum = int64(binary.BigEndian.Uint64(b))
	return nil
}

func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

type counterCluster struct {
	t      *testing.T
	dirs   []string
	addrs  []string
	hosts  []*dragonboat.NodeHost
	dbs    []*stateDB
	events []*events
	timing RaftTiming
}

const counterShard = 7

func (c *counterCluster) start(i int) {
	c.t.Helper()
	db, err := openStateDB(c.dirs[i] + "/state")
	if err != nil {
		c.t.Fatal(err)
	}
	c.events[i] = &events{}
	nh, err := newNodeHost(c.dirs[i], c.addrs[i], c.timing, c.events[i])
	if err != nil {
		c.t.Fatal(err)
	}
	members := map[uint64]dragonboat.Target{}
	for j, a := range c.addrs {
		members[uint64(j+1)] = a
	}
	create := func(shardID, replicaID uint64) sm.IOnDiskStateMachine {
		return newWholeSM(shardID, db, func() wholeState { return &counter{} })
	}
	if err := nh.StartOnDiskReplica(members, false, create, shardConfig(counterShard, uint64(i+1), c.timing)); err != nil {
		c.t.Fatal(err)
	}
	c.hosts[i], c.dbs[i] = nh, db
}

func (c *counterCluster) stop(i int) {
	c.hosts[i].Close()
	c.dbs[i].close()
	c.hosts[i], c.dbs[i] = nil, nil
}

func (c *counterCluster) add(v int64) int64 {
	c.t.Helper()
	for attempt := 0; attempt < 100; attempt++ {
		for _, nh := range c.hosts {
			if nh == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			res, err := nh.SyncPropose(ctx, nh.GetNoOPSession(counterShard), binary.BigEndian.AppendUint64(nil, uint64(v)))
			cancel()
			if err == nil {
				return int64(binary.BigEndian.Uint64(res.Data))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("no proposal succeeded")
	return 0
}

func (c *counterCluster) read(i int) int64 {
	c.t.Helper()
	q := func(s wholeState) (any, error) { return s.(*counter).sum, nil }
	for attempt := 0; attempt < 100; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, err := c.hosts[i].SyncRead(ctx, counterShard, q)
		cancel()
		if err == nil {
			return v.(int64)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no read succeeded on node %d", i+1)
	return 0
}

// TestWholeSMSurvivesRestartsAndCatchesUpBySnapshot runs the counter over
// three real dragonboat NodeHosts: a stopped replica misses entries that are
// compacted away behind a snapshot, comes back and catches up; then the
// whole cluster restarts and keeps its state.
func TestWholeSMSurvivesRestartsAndCatchesUpBySnapshot(t *testing.T) {
	timing := DefaultRaftTiming()
	timing.SnapshotEntries, timing.CompactionOverheadEntries = 20, 5
	c := &counterCluster{t: t, addrs: freeAddrs(t, 3), hosts: make([]*dragonboat.NodeHost, 3), dbs: make([]*stateDB, 3), events: make([]*events, 3), timing: timing}
	for i := 0; i < 3; i++ {
		c.dirs = append(c.dirs, t.TempDir())
		c.start(i)
	}
	defer func() {
		for i := range c.hosts {
			if c.hosts[i] != nil {
				c.stop(i)
			}
		}
	}()
	want := int64(0)
	for i := int64(1); i <= 30; i++ {
		want += i
		if got := c.add(i); got != want {
			t.Fatalf("after adding %d: sum %d, want %d", i, got, want)
		}
	}
	c.stop(2)
	for i := int64(1); i <= 100; i++ { // several snapshot intervals: node 3's missing entries get compacted away
		want += i
		c.add(i)
	}
	c.start(2)
	deadline := time.Now().Add(20 * time.Second)
	for c.read(2) != want {
		if time.Now().After(deadline) {
			t.Fatalf("restarted replica stuck at %d, want %d", c.read(2), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := c.events[2].snapshotsRecovered.Load(); n == 0 {
		t.Fatal("restarted replica caught up without receiving a snapshot: the test did not exercise snapshot streaming")
	}
	for i := range c.hosts {
		c.stop(i)
	}
	for i := range c.hosts {
		c.start(i)
	}
	for i := range c.hosts {
		if got := c.read(i); got != want {
			t.Fatalf("after full restart node %d reads %d, want %d", i+1, got, want)
		}
	}
}
