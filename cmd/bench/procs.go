package main

import (
	"context"
	"time"

	"github.com/tidemark/tidemark/brokerproc"
)

// readyTimeout bounds how long a cluster may take to start or restart
// before the benchmark gives up on it.
const readyTimeout = brokerproc.DefaultReadyTimeout

// benchPollInterval is how often readiness and leaders are polled.
const benchPollInterval = 100 * time.Millisecond

// cluster is n brokers on loopback (brokerproc), each with its own data dir
// under dir, started with the same flags a user would give them.
type cluster struct {
	*brokerproc.Cluster
	// profiled: every broker serves net/http/pprof (--pprof-addr).
	profiled bool
}

// startCluster starts n brokers (RF min(3, n)) and waits until every one
// is registered.
func startCluster(ctx context.Context, binary, dir string, n int, profiled bool) (*cluster, error) {
	pc, err := brokerproc.Start(brokerproc.Config{
		Binary: binary, Dir: dir, N: n,
		// With Kafka addresses in --peers, as docs/operations.md advises
		// (a restarted broker asks its peers before it starts).
		PeersWithKafka: true,
		Args:           []string{"--auto-create-topics=false", "--log-level", "warn"},
		Pprof:          profiled,
		PollInterval:   benchPollInterval,
	})
	if err != nil {
		return nil, err
	}
	c := &cluster{Cluster: pc, profiled: profiled}
	if err := c.WaitReady(ctx); err != nil {
		c.StopAll()
		return nil, err
	}
	return c, nil
}

// restartAll stops every broker cleanly and starts them again, and returns
// once the cluster answers.
func (c *cluster) restartAll(ctx context.Context) error {
	if err := c.RestartAll(); err != nil {
		return err
	}
	return c.WaitReady(ctx)
}

// createTopic creates a topic with the cluster's default replication factor
// and waits until every partition is led by its preferred replica.
func (c *cluster) createTopic(ctx context.Context, name string, partitions int32) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := c.EnsureTopic(ctx, name, partitions, -1); err != nil {
		return err
	}
	return c.WaitPreferredLeaders(ctx, name, partitions)
}
