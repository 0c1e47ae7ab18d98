package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// readyTimeout bounds how long a cluster may take to start or restart
// before the benchmark gives up on it.
const readyTimeout = 120 * time.Second

// brokerProc is one bin/broker process the benchmark started.
type brokerProc struct {
	id        int32
	kafkaAddr string
	raftAddr  string
	dataDir   string
	logPath   string
	pprofAddr string    // "" unless the cluster is profiled
	cmd       *exec.Cmd // nil while stopped
	exited    chan struct{}
}

// cluster is n brokers on loopback, each with its own data dir under dir,
// started with the same flags a user would give them.
type cluster struct {
	binary  string
	dir     string
	peers   string
	brokers []*brokerProc
	// profiled: every broker serves net/http/pprof (--pprof-addr).
	profiled bool
}

// startCluster starts n brokers (RF min(3, n)) and waits until every one
// is registered and answers Metadata.
func startCluster(ctx context.Context, binary, dir string, n int, profiled bool) (*cluster, error) {
	c := &cluster{binary: binary, dir: dir, profiled: profiled}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var peers []string
	for i := 1; i <= n; i++ {
		kafkaAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		raftAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		b := &brokerProc{id: int32(i), kafkaAddr: kafkaAddr, raftAddr: raftAddr,
			dataDir: filepath.Join(dir, fmt.Sprintf("node-%d", i)),
			logPath: filepath.Join(dir, fmt.Sprintf("node-%d.log", i))}
		if profiled {
			if b.pprofAddr, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		c.brokers = append(c.brokers, b)
		peers = append(peers, fmt.Sprintf("%d@%s", i, raftAddr))
	}
	c.peers = strings.Join(peers, ",")
	for _, b := range c.brokers {
		if err := c.start(b); err != nil {
			c.stop()
			return nil, err
		}
	}
	if err := c.waitReady(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (c *cluster) start(b *brokerProc) error {
	logFile, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{
		"--node-id", strconv.Itoa(int(b.id)),
		"--data-dir", b.dataDir,
		"--kafka-addr", b.kafkaAddr,
		"--raft-addr", b.raftAddr,
		"--peers", c.peers,
		"--auto-create-topics=false",
		"--log-level", "warn",
	}
	if b.pprofAddr != "" {
		args = append(args, "--pprof-addr", b.pprofAddr)
	}
	cmd := exec.Command(c.binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start broker %d: %w", b.id, err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		cmd.Wait()
		logFile.Close()
		close(exited)
	}(b.exited)
	return nil
}

// kill sends SIGKILL to broker b and waits for it to die.
func (c *cluster) kill(b *brokerProc) {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd = nil
}

// stop gives every running broker a SIGTERM (a clean shutdown) and waits.
func (c *cluster) stop() {
	for _, b := range c.brokers {
		if b.cmd != nil {
			b.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, b := range c.brokers {
		if b.cmd == nil {
			continue
		}
		select {
		case <-b.exited:
		case <-time.After(30 * time.Second):
			c.kill(b)
		}
		b.cmd = nil
	}
}

// restartAll stops every broker cleanly and starts them again, and returns
// once the cluster answers.
func (c *cluster) restartAll(ctx context.Context) error {
	c.stop()
	for _, b := range c.brokers {
		if err := c.start(b); err != nil {
			return err
		}
	}
	return c.waitReady(ctx)
}

func (c *cluster) seeds() []string {
	var s []string
	for _, b := range c.brokers {
		if b.cmd != nil {
			s = append(s, b.kafkaAddr)
		}
	}
	return s
}

func (c *cluster) byID(id int32) *brokerProc {
	for _, b := range c.brokers {
		if b.id == id {
			return b
		}
	}
	return nil
}

func (c *cluster) client(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.seeds()...)}, opts...)...)
}

// waitReady waits until every broker is registered and reachable.
func (c *cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		bs, err := adm.ListBrokers(ctx)
		if err == nil && len(bs) == len(c.brokers) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready after %v (last: %d brokers, %v); logs in %s", readyTimeout, len(bs), err, c.dir)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createTopic creates a topic with the cluster's default replication factor
// and waits until every partition has a leader and accepts a produce.
func (c *cluster) createTopic(ctx context.Context, name string, partitions int32) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		r, err := adm.CreateTopic(ctx, partitions, -1, nil, name)
		if err == nil && (r.Err == nil || strings.Contains(r.Err.Error(), "TOPIC_ALREADY_EXISTS")) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create topic %s: %v %v", name, err, r.Err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return c.waitLeaders(ctx, name, partitions)
}

// waitLeaders waits until metadata shows every partition led by its
// preferred replica: the brokers move leadership there after a topic is
// created or a broker returns, and a produce during the move is answered
// NOT_LEADER_OR_FOLLOWER, which costs a client a metadata refresh (up to
// franz-go's 5 s metadata min age). Measuring starts once that settles.
func (c *cluster) waitLeaders(ctx context.Context, topic string, partitions int32) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			led := 0
			if t, ok := md.Topics[topic]; ok {
				for _, p := range t.Partitions {
					if p.Err == nil && len(p.Replicas) > 0 && p.Leader == p.Replicas[0] {
						led++
					}
				}
			}
			if int32(led) == partitions {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s: not every partition is led by its preferred replica: %w", topic, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// leaderOf returns the broker leading topic's partition p.
func (c *cluster) leaderOf(ctx context.Context, topic string, p int32) (*brokerProc, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	pd, ok := md.Topics[topic].Partitions[p]
	if !ok || pd.Leader < 0 {
		return nil, fmt.Errorf("%s/%d has no leader", topic, p)
	}
	return c.byID(pd.Leader), nil
}

// rssBytes reads a running broker's resident set size from /proc.
func rssBytes(b *brokerProc) (int64, error) {
	if b.cmd == nil {
		return 0, fmt.Errorf("broker %d is not running", b.id)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", b.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", b.cmd.Process.Pid)
}

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat; 100 on every Linux architecture Go supports.
const clockTicksPerSecond = 100

// cpuTime is the CPU time (user + system) a running broker has used,
// from /proc/<pid>/stat.
func cpuTime(b *brokerProc) (time.Duration, error) {
	if b.cmd == nil {
		return 0, fmt.Errorf("broker %d is not running", b.id)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start at field 3, so utime (14) and stime (15)
	// are the 12th and 13th.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", b.cmd.Process.Pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", b.cmd.Process.Pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", b.cmd.Process.Pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicksPerSecond, nil
}

// clusterCPU is the CPU time all running brokers of c have used; brokers
// that cannot be read count 0.
func (c *cluster) clusterCPU() time.Duration {
	var total time.Duration
	for _, b := range c.brokers {
		if d, err := cpuTime(b); err == nil {
			total += d
		}
	}
	return total
}
