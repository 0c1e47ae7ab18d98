package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Timeouts of cluster operations; they are safety nets, never assertions.
const (
	// readyTimeout bounds a cluster's start or settling after faults.
	readyTimeout = 120 * time.Second
	// stopTimeout bounds a clean (SIGTERM) stop before SIGKILL.
	stopTimeout = 30 * time.Second
	// pollInterval is how often readiness is polled.
	pollInterval = 200 * time.Millisecond
)

// Namespace ports: inside its own namespace every broker uses the same
// ports on its own address.
const (
	nsKafkaPort = 9092
	nsRaftPort  = 9093
)

// Broker is one bin/broker process of a Cluster.
type Broker struct {
	ID        int32
	KafkaAddr string
	RaftAddr  string
	DataDir   string
	LogPath   string

	cmd    *exec.Cmd // nil while stopped
	exited chan struct{}
	paused bool
}

// Running reports whether the broker's process is up (possibly paused).
func (b *Broker) Running() bool { return b.cmd != nil }

// Cluster is n bin/broker processes with their own data dirs under Dir.
// Its methods are not safe for concurrent use: the fault loop drives it.
type Cluster struct {
	Binary  string
	Dir     string
	Brokers []*Broker
	peers   string
	nw      *network // nil on loopback: no partitions
	mu      sync.Mutex
}

// StartCluster starts n brokers. With useNetns each runs in its own
// network namespace (partitions possible); otherwise on loopback.
func StartCluster(ctx context.Context, binary, dir string, n int, useNetns bool, rng *rand.Rand) (*Cluster, error) {
	c := &Cluster{Binary: binary, Dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if useNetns {
		nw, err := newNetwork(n, rng)
		if err != nil {
			return nil, err
		}
		c.nw = nw
	}
	var peers []string
	for i := 1; i <= n; i++ {
		b := &Broker{ID: int32(i),
			DataDir: filepath.Join(dir, fmt.Sprintf("node-%d", i)),
			LogPath: filepath.Join(dir, fmt.Sprintf("node-%d.log", i))}
		if c.nw != nil {
			b.KafkaAddr = net.JoinHostPort(c.nw.ip(i), strconv.Itoa(nsKafkaPort))
			b.RaftAddr = net.JoinHostPort(c.nw.ip(i), strconv.Itoa(nsRaftPort))
		} else {
			var err error
			if b.KafkaAddr, err = freeAddr(); err != nil {
				return nil, err
			}
			if b.RaftAddr, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		c.Brokers = append(c.Brokers, b)
		peers = append(peers, fmt.Sprintf("%d@%s/%s", i, b.RaftAddr, b.KafkaAddr))
	}
	c.peers = strings.Join(peers, ",")
	for _, b := range c.Brokers {
		if err := c.Start(b); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.WaitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Partitionable reports whether the cluster can be partitioned.
func (c *Cluster) Partitionable() bool { return c.nw != nil }

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start starts b's process (it must be stopped).
func (c *Cluster) Start(b *Broker) error {
	if b.cmd != nil {
		return fmt.Errorf("broker %d already running", b.ID)
	}
	if err := os.MkdirAll(b.DataDir, 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(b.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{
		"--node-id", strconv.Itoa(int(b.ID)),
		"--data-dir", b.DataDir,
		"--kafka-addr", b.KafkaAddr,
		"--raft-addr", b.RaftAddr,
		"--peers", c.peers,
		"--auto-create-topics=false",
	}
	var cmd *exec.Cmd
	if c.nw != nil {
		// ip netns exec execs the broker in place: the pid is the broker's.
		cmd = exec.Command("ip", append([]string{"netns", "exec", c.nw.ns(int(b.ID)), c.Binary}, args...)...)
	} else {
		cmd = exec.Command(c.Binary, args...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: a Ctrl-C of the harness does not hit the brokers
	// before it can stop them and keep their logs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start broker %d: %w", b.ID, err)
	}
	b.cmd, b.exited, b.paused = cmd, make(chan struct{}), false
	go func(exited chan struct{}) {
		cmd.Wait()
		logFile.Close()
		close(exited)
	}(b.exited)
	return nil
}

// Kill sends SIGKILL to b and waits for it to exit.
func (c *Cluster) Kill(b *Broker) {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd, b.paused = nil, false
}

// Stop stops b cleanly (SIGTERM), with SIGKILL after stopTimeout.
func (c *Cluster) Stop(b *Broker) {
	if b.cmd == nil {
		return
	}
	if b.paused {
		b.cmd.Process.Signal(syscall.SIGCONT)
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
		b.cmd, b.paused = nil, false
	case <-time.After(stopTimeout):
		c.Kill(b)
	}
}

// Pause sends SIGSTOP to b.
func (c *Cluster) Pause(b *Broker) error {
	if b.cmd == nil {
		return fmt.Errorf("broker %d not running", b.ID)
	}
	b.paused = true
	return b.cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume sends SIGCONT to b.
func (c *Cluster) Resume(b *Broker) error {
	if b.cmd == nil {
		return fmt.Errorf("broker %d not running", b.ID)
	}
	b.paused = false
	return b.cmd.Process.Signal(syscall.SIGCONT)
}

// Wipe kills b, deletes its data dir and starts it again: it rejoins as a
// new incarnation (docs/operations.md).
func (c *Cluster) Wipe(b *Broker) error {
	c.Kill(b)
	if err := os.RemoveAll(b.DataDir); err != nil {
		return err
	}
	return c.Start(b)
}

// Partition cuts the Raft (and every other) traffic between side and the
// rest of the brokers.
func (c *Cluster) Partition(side []int32) error {
	if c.nw == nil {
		return fmt.Errorf("partitions need network namespaces (root)")
	}
	var s []int
	for _, id := range side {
		s = append(s, int(id))
	}
	return c.nw.partition(s)
}

// Heal removes every partition and resumes every paused broker.
func (c *Cluster) Heal() error {
	for _, b := range c.Brokers {
		if b.paused {
			c.Resume(b)
		}
	}
	if c.nw != nil {
		return c.nw.heal()
	}
	return nil
}

// Close stops every broker cleanly and removes the namespaces. The data
// dirs and logs stay under Dir.
func (c *Cluster) Close() {
	for _, b := range c.Brokers {
		if b.paused {
			c.Resume(b)
		}
	}
	var wg sync.WaitGroup
	for _, b := range c.Brokers {
		wg.Add(1)
		go func() { defer wg.Done(); c.Stop(b) }()
	}
	wg.Wait()
	if c.nw != nil {
		c.nw.close()
	}
}

// Seeds are the Kafka addresses of every broker.
func (c *Cluster) Seeds() []string {
	var s []string
	for _, b := range c.Brokers {
		s = append(s, b.KafkaAddr)
	}
	return s
}

// Client returns a franz-go client bootstrapped from every broker.
func (c *Cluster) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Seeds()...)}, opts...)...)
}

// ByID returns the broker with id, or nil.
func (c *Cluster) ByID(id int32) *Broker {
	for _, b := range c.Brokers {
		if b.ID == id {
			return b
		}
	}
	return nil
}

// WaitReady waits until every broker is registered.
func (c *Cluster) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	cl, err := c.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		bs, err := adm.ListBrokers(ctx)
		if err == nil && len(bs) == len(c.Brokers) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready after %v (last: %d brokers, %v); logs in %s", readyTimeout, len(bs), err, c.Dir)
		case <-time.After(pollInterval):
		}
	}
}

// WaitBroker waits until b itself answers a Metadata request.
func (c *Cluster) WaitBroker(ctx context.Context, b *Broker) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := adm.BrokerMetadata(rctx)
		rcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker %d not answering after %v (%v); logs in %s", b.ID, readyTimeout, err, b.LogPath)
		case <-time.After(pollInterval):
		}
	}
}

// CreateTopic creates topic with partitions and replication factor rf and
// waits until every partition has a leader.
func (c *Cluster) CreateTopic(ctx context.Context, topic string, partitions int32, rf int16) error {
	cl, err := c.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		r, err := adm.CreateTopic(ctx, partitions, rf, nil, topic)
		if err == nil && (r.Err == nil || strings.Contains(r.Err.Error(), "TOPIC_ALREADY_EXISTS")) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create topic %s: %v %v", topic, err, r.Err)
		case <-time.After(pollInterval):
		}
	}
	return c.WaitLeaders(ctx, topic, partitions)
}

// WaitLeaders waits until every partition of topic has a leader whose
// broker is running.
func (c *Cluster) WaitLeaders(ctx context.Context, topic string, partitions int32) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		led := 0
		for p := range partitions {
			if b, err := c.LeaderOf(ctx, topic, p); err == nil && b.Running() {
				led++
			}
		}
		if int32(led) == partitions {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s: not every partition has a leader: %w", topic, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// LeaderOf returns the broker metadata names as leader of topic/p.
func (c *Cluster) LeaderOf(ctx context.Context, topic string, p int32) (*Broker, error) {
	l, _, err := c.Replicas(ctx, topic, p)
	return l, err
}

// Replicas returns the leader and the replicas metadata names for topic/p.
func (c *Cluster) Replicas(ctx context.Context, topic string, p int32) (*Broker, []*Broker, error) {
	cl, err := c.Client()
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	pd, ok := md.Topics[topic].Partitions[p]
	if !ok || pd.Leader < 0 {
		return nil, nil, fmt.Errorf("%s/%d has no leader", topic, p)
	}
	b := c.ByID(pd.Leader)
	if b == nil {
		return nil, nil, fmt.Errorf("%s/%d: leader %d unknown", topic, p, pd.Leader)
	}
	var replicas []*Broker
	for _, id := range pd.Replicas {
		if r := c.ByID(id); r != nil {
			replicas = append(replicas, r)
		}
	}
	return b, replicas, nil
}
