package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"time"

	"github.com/tidemark/tidemark/brokerproc"
)

// pollInterval is how often the workload retries while waiting (the
// cluster's own polls use brokerproc's default, the same 200 ms).
const pollInterval = 200 * time.Millisecond

// Namespace ports: inside its own namespace every broker uses the same
// ports on its own address.
const (
	nsKafkaPort = 9092
	nsRaftPort  = 9093
)

// Broker is one bin/broker process of a Cluster.
type Broker = brokerproc.Broker

// Cluster is n bin/broker processes (brokerproc.Cluster) with their own
// data dirs under Dir, optionally each in its own network namespace.
// Its methods are not safe for concurrent use: the fault loop drives it.
type Cluster struct {
	*brokerproc.Cluster
	nw *network // nil on loopback: no partitions
}

// StartCluster starts n brokers and waits until every one is registered.
// With useNetns each runs in its own network namespace (partitions
// possible); otherwise on loopback.
func StartCluster(ctx context.Context, binary, dir string, n int, useNetns bool, rng *rand.Rand) (*Cluster, error) {
	c := &Cluster{}
	cfg := brokerproc.Config{
		Binary: binary, Dir: dir, N: n,
		Args:           []string{"--auto-create-topics=false"},
		PeersWithKafka: true,
		Setpgid:        true,
		PollInterval:   pollInterval,
	}
	if useNetns {
		nw, err := newNetwork(n, rng)
		if err != nil {
			return nil, err
		}
		c.nw = nw
		cfg.Addrs = func(id int32) (string, string) {
			ip := nw.ip(int(id))
			return net.JoinHostPort(ip, strconv.Itoa(nsKafkaPort)), net.JoinHostPort(ip, strconv.Itoa(nsRaftPort))
		}
		// ip netns exec execs the broker in place: the pid is the broker's.
		cfg.Command = func(b *Broker, binary string, args []string) *exec.Cmd {
			return exec.Command("ip", append([]string{"netns", "exec", nw.ns(int(b.ID)), binary}, args...)...)
		}
	}
	pc, err := brokerproc.Start(cfg)
	if err != nil {
		if c.nw != nil {
			c.nw.close()
		}
		return nil, err
	}
	c.Cluster = pc
	if err := c.WaitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Partitionable reports whether the cluster can be partitioned.
func (c *Cluster) Partitionable() bool { return c.nw != nil }

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
	c.ResumeAll()
	if c.nw != nil {
		return c.nw.heal()
	}
	return nil
}

// Close stops every broker cleanly and removes the namespaces. The data
// dirs and logs stay under Dir.
func (c *Cluster) Close() {
	c.StopAll()
	if c.nw != nil {
		c.nw.close()
	}
}
