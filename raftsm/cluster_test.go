package raftsm

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

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

// testCluster runs one Raft shard over n real dragonboat NodeHosts on
// loopback, each with its own data dir and state DB. Host i starts with
// replica id i+1 unless replicaIDs says otherwise (a wiped host rejoins
// under a new id).
type testCluster struct {
	t          *testing.T
	shardID    uint64
	timing     RaftTiming
	newSM      func(i int, db *stateDB) sm.IOnDiskStateMachine
	dirs       []string
	addrs      []string
	replicaIDs []uint64
	hosts      []*dragonboat.NodeHost
	dbs        []*stateDB
	events     []*events
}

func newTestCluster(t *testing.T, n int, shardID uint64, timing RaftTiming, newSM func(i int, db *stateDB) sm.IOnDiskStateMachine) *testCluster {
	c := &testCluster{t: t, shardID: shardID, timing: timing, newSM: newSM, addrs: freeAddrs(t, n),
		hosts: make([]*dragonboat.NodeHost, n), dbs: make([]*stateDB, n), events: make([]*events, n)}
	for i := 0; i < n; i++ {
		c.dirs = append(c.dirs, t.TempDir())
		c.replicaIDs = append(c.replicaIDs, uint64(i+1))
	}
	t.Cleanup(func() {
		for i := range c.hosts {
			if c.hosts[i] != nil {
				c.stop(i)
			}
		}
	})
	return c
}

// start starts host i; join starts it as a new member added by a
// membership change rather than as one of the initial members.
func (c *testCluster) start(i int, join bool) {
	c.t.Helper()
	if err := os.MkdirAll(c.dirs[i], 0o755); err != nil {
		c.t.Fatal(err)
	}
	db, err := openStateDB(c.dirs[i] + "/state")
	if err != nil {
		c.t.Fatal(err)
	}
	c.events[i] = &events{}
	nh, err := newNodeHost(c.dirs[i], c.addrs[i], c.timing, c.events[i], newRaftLayout)
	if err != nil {
		c.t.Fatal(err)
	}
	members := map[uint64]dragonboat.Target{}
	if !join {
		for j, a := range c.addrs {
			members[uint64(j+1)] = a
		}
	}
	create := func(uint64, uint64) sm.IOnDiskStateMachine { return c.newSM(i, db) }
	if err := nh.StartOnDiskReplica(members, join, create, shardConfig(c.shardID, c.replicaIDs[i], c.timing)); err != nil {
		c.t.Fatal(err)
	}
	c.hosts[i], c.dbs[i] = nh, db
}

func (c *testCluster) startAll() {
	for i := range c.hosts {
		c.start(i, false)
	}
}

func (c *testCluster) stop(i int) {
	c.hosts[i].Close()
	c.dbs[i].close()
	c.hosts[i], c.dbs[i] = nil, nil
}

func (c *testCluster) stopAll() {
	for i := range c.hosts {
		if c.hosts[i] != nil {
			c.stop(i)
		}
	}
}

// leader returns the index of the host that leads the shard, waiting for
// an election if needed.
func (c *testCluster) leader() int {
	c.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for i, nh := range c.hosts {
			if nh == nil {
				continue
			}
			id, _, ok, err := nh.GetLeaderID(c.shardID)
			if err == nil && ok && id == c.replicaIDs[i] {
				return i
			}
		}
	}
	c.t.Fatal("no leader elected within 20s")
	return -1
}

// propose submits cmd through the current leader, retrying through
// elections, and returns the applied result.
func (c *testCluster) propose(cmd []byte) []byte {
	c.t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		nh := c.hosts[c.leader()]
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		res, err := nh.SyncPropose(ctx, nh.GetNoOPSession(c.shardID), cmd)
		cancel()
		if err == nil {
			data, err := resultData(res)
			if err != nil {
				c.t.Fatal(err)
			}
			return data
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("no proposal succeeded in 50 attempts")
	return nil
}

// read runs a linearizable read (ReadIndex) through host i.
func (c *testCluster) read(i int, q any) any {
	c.t.Helper()
	for attempt := 0; attempt < 100; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, err := c.hosts[i].SyncRead(ctx, c.shardID, q)
		cancel()
		if err == nil {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no read succeeded on host %d", i)
	return nil
}

// waitFor polls cond until it holds or 20 s pass.
func (c *testCluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}
