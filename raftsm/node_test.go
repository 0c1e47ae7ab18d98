package raftsm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/lni/dragonboat/v4/raftio"

	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
)

// nodeCluster runs n brokers' Nodes in one process on loopback. Each
// node's "Kafka address" serves the join side channel only (other
// connections are closed), and every leader change any node reports is
// recorded, so a test can check that no shard had two leaders in one term.
type nodeCluster struct {
	t         *testing.T
	cfgs      []NodeConfig
	nodes     []*Node
	listeners []net.Listener
	leaders   *leaderRecord
}

func newNodeCluster(t *testing.T, n int) *nodeCluster {
	addrs := freeAddrs(t, 2*n)
	peers, kafkaAddrs := map[int32]string{}, map[int32]string{}
	for i := 0; i < n; i++ {
		peers[int32(i+1)], kafkaAddrs[int32(i+1)] = addrs[i], addrs[n+i]
	}
	c := &nodeCluster{t: t, nodes: make([]*Node, n), listeners: make([]net.Listener, n), leaders: newLeaderRecord()}
	for i := 0; i < n; i++ {
		cfg := DefaultNodeConfig()
		cfg.NodeID, cfg.DataDir, cfg.RaftAddr = int32(i+1), t.TempDir(), addrs[i]
		cfg.KafkaAddr = addrs[n+i]
		cfg.Peers, cfg.PeerKafkaAddrs, cfg.GroupShardCount = peers, kafkaAddrs, 2
		cfg.ReconcileIntervalMs, cfg.LeaderTransferBackoffMs = 50, 500
		cfg.Log = testLogger()
		cfg.onLeaderHook = c.leaders.observe
		c.cfgs = append(c.cfgs, cfg)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			if c.nodes[i] != nil {
				c.listeners[i].Close()
				c.nodes[i].Close()
			}
		}
	})
	return c
}

func (c *nodeCluster) start(i int) {
	c.t.Helper()
	n, err := StartNode(c.cfgs[i])
	if err != nil {
		c.t.Fatalf("start node %d: %v", i+1, err)
	}
	ln, err := net.Listen("tcp", c.cfgs[i].KafkaAddr)
	if err != nil {
		n.Close()
		c.t.Fatalf("node %d: listen on its kafka address: %v", i+1, err)
	}
	l := n.WrapKafkaListener(ln)
	go func() { // no Kafka server here: refuse whatever is not a join request
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	c.nodes[i], c.listeners[i] = n, l
}

func (c *nodeCluster) stop(i int) {
	c.t.Helper()
	c.listeners[i].Close()
	if err := c.nodes[i].Close(); err != nil {
		c.t.Fatalf("close node %d: %v", i+1, err)
	}
	c.nodes[i], c.listeners[i] = nil, nil
}

// leaderRecord remembers, for every shard and term, the leader replica
// some node reported, and every time two nodes (or one node twice)
// reported different leaders for one term.
type leaderRecord struct {
	mu        sync.Mutex
	byTerm    map[[2]uint64]uint64 // {shard, term} -> leader replica id
	conflicts []string
}

func newLeaderRecord() *leaderRecord { return &leaderRecord{byTerm: map[[2]uint64]uint64{}} }

func (r *leaderRecord) observe(info raftio.LeaderInfo) {
	if info.LeaderID == 0 {
		return // "no leader known" is not a claim
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := [2]uint64{info.ShardID, info.Term}
	if prev, ok := r.byTerm[k]; ok && prev != info.LeaderID {
		r.conflicts = append(r.conflicts, fmt.Sprintf("shard %d term %d: leaders %d and %d", info.ShardID, info.Term, prev, info.LeaderID))
	}
	r.byTerm[k] = info.LeaderID
}

// check fails the test if any shard had two leaders in one term, and
// returns how many (shard, term) pairs were observed.
func (r *leaderRecord) check(t *testing.T) int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conflicts {
		t.Errorf("two leaders in one term: %s", c)
	}
	return len(r.byTerm)
}

func (c *nodeCluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *nodeCluster) controllerView(i int) controllerView {
	v, err := c.nodes[i].viewController()
	if err != nil {
		return controllerView{}
	}
	return v
}

// leaderOf returns the index of the node leading shardID, or -1.
func (c *nodeCluster) leaderOf(shardID uint64) int {
	for i, n := range c.nodes {
		if n != nil && n.mustLead(shardID) == nil {
			return i
		}
	}
	return -1
}

// produce appends one batch of values to a partition through its leader,
// following NotLeaderError, and returns the base offset.
func (c *nodeCluster) produce(shardID uint64, values ...string) int64 {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		i := c.leaderOf(shardID)
		if i < 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		b, err := c.nodes[i].Propose(ctx, shardID, produceCmd(values...))
		cancel()
		var nl *NotLeaderError
		if errors.As(err, &nl) || err != nil {
			continue
		}
		res, err := partition.DecodeResult(b)
		if err != nil {
			c.t.Fatal(err)
		}
		pr := res.(partition.ProduceResult)
		if pr.Err != nil {
			c.t.Fatalf("produce: %v", pr.Err)
		}
		return pr.BaseOffset
	}
	c.t.Fatalf("no produce to shard %d succeeded", shardID)
	return -1
}

// waitRegistered waits until the cluster is bootstrapped and every node
// of c has registered an incarnation, as node 1's controller replica sees.
func (c *nodeCluster) waitRegistered() {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("bootstrap and %d registrations", len(c.nodes)), func() bool {
		v := c.controllerView(0)
		if !v.bootstrapped || len(v.brokers) != len(c.nodes) {
			return false
		}
		for _, b := range v.brokers {
			if b.Info.Incarnation == 0 {
				return false
			}
		}
		return true
	})
}

// createTopic proposes cmd through node i and waits until every running
// node has applied the topic.
func (c *nodeCluster) createTopic(i int, cmd controller.CreateTopic) controller.TopicInfo {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.nodes[i].ProposeController(ctx, cmd)
	if err != nil {
		c.t.Fatalf("create topic %s through node %d: %v", cmd.Name, i+1, err)
	} else if e := controller.ResultErr(res); e != nil {
		c.t.Fatalf("create topic %s: %v", cmd.Name, e)
	}
	var topic controller.TopicInfo
	c.waitFor("every running node to apply topic "+cmd.Name, func() bool {
		for _, n := range c.nodes {
			ok := n == nil
			if n != nil {
				n.ReadController(func(ctl *controller.Controller) { topic, ok = ctl.Topic(cmd.Name) })
			}
			if !ok {
				return false
			}
		}
		return true
	})
	return topic
}

// localValues reads node i's local replica of shardID (nil if it has none).
func (c *nodeCluster) localValues(i int, shardID uint64) []string {
	var out []string
	next := int64(0)
	for {
		var res partition.FetchResult
		if _, err := c.nodes[i].ReadPartition(shardID, func(l *partition.Log) { res = l.Fetch(next, 1<<20) }); err != nil {
			return nil
		}
		if res.Err != nil || len(res.Records) == 0 {
			return out
		}
		for _, b := range mustSplit(c.t, res.Records) {
			for _, v := range b {
				if v.offset >= next {
					out = append(out, v.value)
					next = v.offset + 1
				}
			}
		}
	}
}

func TestNodeClusterLifecycle(t *testing.T) {
	c := newNodeCluster(t, 3)
	for i := range c.nodes {
		c.start(i)
	}
	c.waitRegistered()

	// Every data dir records the cluster it joined.
	clusterID := c.controllerView(0).clusterID
	for i, cfg := range c.cfgs {
		c.waitFor(fmt.Sprintf("node %d to record the cluster id", i+1), func() bool {
			id, _, err := loadIdentity(cfg.DataDir, cfg.NodeID, cfg.Peers)
			return err == nil && id.ClusterID == clusterID && clusterID != ""
		})
	}

	// A topic created through the controller gets replicas on every node.
	topic := c.createTopic(1, controller.CreateTopic{Name: "orders", TopicID: controller.TopicID{1},
		Partitions: 3, ReplicationFactor: 3, NowMs: 1})
	var shards []uint64
	for _, p := range topic.Partitions {
		shards = append(shards, uint64(p.Shard))
	}
	c.waitFor("every node to run every partition and group replica", func() bool {
		for _, n := range c.nodes {
			if len(n.LocalShards()) != len(shards)+2 {
				return false
			}
		}
		return true
	})

	// Leadership moves to each partition's preferred leader, so the three
	// partitions are led by three different brokers.
	c.waitFor("preferred leaders", func() bool {
		for _, p := range topic.Partitions {
			if i := c.leaderOf(uint64(p.Shard)); i < 0 || int32(i+1) != p.Replicas[0].BrokerID {
				return false
			}
		}
		return true
	})

	want := map[uint64][]string{}
	produceN := func(n int) {
		for k := 0; k < n; k++ {
			for _, s := range shards {
				v := fmt.Sprintf("s%d-%d", s, len(want[s]))
				if base := c.produce(s, v); base != int64(len(want[s])) {
					t.Fatalf("shard %d: base offset %d, want %d", s, base, len(want[s]))
				}
				want[s] = append(want[s], v)
			}
		}
	}
	checkAll := func(when string) {
		for i := range c.nodes {
			for _, s := range shards {
				c.waitFor(fmt.Sprintf("node %d shard %d complete %s", i+1, s, when), func() bool {
					return sameValues(c.localValues(i, s), want[s]) == nil
				})
			}
		}
	}
	produceN(5)

	// Kill the leader of the first partition; the others take over.
	victim := c.leaderOf(shards[0])
	c.stop(victim)
	produceN(5)
	c.start(victim)
	checkAll("after the leader restarts")

	// Restart the whole cluster: everything is still there.
	for i := range c.nodes {
		c.stop(i)
	}
	for i := range c.nodes {
		c.start(i)
	}
	checkAll("after a full restart")
	produceN(2)
	checkAll("after producing again")

	// Deleting the topic stops its replicas and removes their data.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if res, err := c.nodes[2].ProposeController(ctx2, controller.DeleteTopic{Name: "orders"}); err != nil {
		t.Fatalf("delete topic: %v", err)
	} else if e := controller.ResultErr(res); e != nil {
		t.Fatalf("delete topic: %v", e)
	}
	c.waitFor("partition replicas to stop everywhere", func() bool {
		for _, n := range c.nodes {
			if len(n.LocalShards()) != 2 {
				return false
			}
		}
		return true
	})
	for i, n := range c.nodes {
		for _, s := range shards {
			lo, hi := shardBounds(s)
			it := n.db.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
			if it.First() {
				t.Errorf("node %d still holds state of deleted shard %d", i+1, s)
			}
			it.Close()
		}
	}
}

// testLogger discards node logs unless TIDEMARK_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TIDEMARK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
