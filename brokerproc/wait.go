package brokerproc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// metadataTimeout bounds one Metadata request of LeaderOf and WaitBroker.
const metadataTimeout = 5 * time.Second

// poll calls try until it reports done, every interval, and returns
// ctx's error if ctx ends first.
func poll(ctx context.Context, interval time.Duration, try func() (done bool)) error {
	for {
		if try() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// Seeds are the Kafka addresses of every broker, running or not.
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

// WaitReady waits until every broker is registered (ListBrokers names
// them all).
func (c *Cluster) WaitReady(ctx context.Context) error {
	var bs kadm.BrokerDetails
	var err error
	if c.pollAdmin(ctx, func(ctx context.Context, adm *kadm.Client) bool {
		bs, err = adm.ListBrokers(ctx)
		return err == nil && len(bs) == len(c.Brokers)
	}) != nil {
		return fmt.Errorf("cluster not ready after %v (last: %d brokers, %v); logs in %s", c.cfg.ReadyTimeout, len(bs), err, c.Dir)
	}
	return nil
}

// pollAdmin calls try with one admin client every PollInterval until it
// reports done; ReadyTimeout bounds the wait.
func (c *Cluster) pollAdmin(ctx context.Context, try func(context.Context, *kadm.Client) (done bool)) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	cl, err := c.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	return poll(ctx, c.cfg.PollInterval, func() bool { return try(ctx, adm) })
}

// WaitBroker waits until b itself answers a Metadata request.
func (c *Cluster) WaitBroker(ctx context.Context, b *Broker) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if poll(ctx, c.cfg.PollInterval, func() bool {
		rctx, rcancel := context.WithTimeout(ctx, metadataTimeout)
		defer rcancel()
		_, err = adm.BrokerMetadata(rctx)
		return err == nil
	}) != nil {
		return fmt.Errorf("broker %d not answering after %v (%v); logs in %s", b.ID, c.cfg.ReadyTimeout, err, b.LogPath)
	}
	return nil
}

// EnsureTopic creates topic with partitions and replication factor rf (-1:
// the brokers' default), retrying until it is created or already exists.
// It does not wait for leaders.
func (c *Cluster) EnsureTopic(ctx context.Context, topic string, partitions int32, rf int16) error {
	cl, err := c.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	var r kadm.CreateTopicResponse
	if poll(ctx, DefaultPollInterval, func() bool {
		r, err = adm.CreateTopic(ctx, partitions, rf, nil, topic)
		return err == nil && (r.Err == nil || strings.Contains(r.Err.Error(), "TOPIC_ALREADY_EXISTS"))
	}) != nil {
		return fmt.Errorf("create topic %s: %v %v", topic, err, r.Err)
	}
	return nil
}

// CreateTopic is EnsureTopic, then WaitLeaders.
func (c *Cluster) CreateTopic(ctx context.Context, topic string, partitions int32, rf int16) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	if err := c.EnsureTopic(ctx, topic, partitions, rf); err != nil {
		return err
	}
	return c.WaitLeaders(ctx, topic, partitions)
}

// WaitLeaders waits until every partition of topic has a leader whose
// broker is running. Each poll is one Metadata request for the topic (not
// one per partition: with 1,000 partitions that made the wait itself the
// brokers' largest load).
func (c *Cluster) WaitLeaders(ctx context.Context, topic string, partitions int32) error {
	if err := c.pollAdmin(ctx, func(ctx context.Context, adm *kadm.Client) bool {
		mctx, cancel := context.WithTimeout(ctx, metadataTimeout)
		defer cancel()
		md, err := adm.Metadata(mctx, topic)
		if err != nil {
			return false
		}
		led := int32(0)
		for _, pd := range md.Topics[topic].Partitions {
			if b := c.ByID(pd.Leader); pd.Leader >= 0 && b != nil && b.Running() {
				led++
			}
		}
		return led == partitions
	}); err != nil {
		return fmt.Errorf("topic %s: not every partition has a leader: %w", topic, err)
	}
	return nil
}

// WaitPreferredLeaders waits until metadata shows every partition of
// topic led by its preferred replica (the first of its replicas); only
// ctx bounds it. The brokers move leadership there after a topic is
// created or a broker returns, and a produce during the move is answered
// NOT_LEADER_OR_FOLLOWER, which costs a client a metadata refresh (up to
// franz-go's 5 s metadata min age): a benchmark measures once that
// settles.
func (c *Cluster) WaitPreferredLeaders(ctx context.Context, topic string, partitions int32) error {
	cl, err := c.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := poll(ctx, c.cfg.PollInterval, func() bool {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false
		}
		led := 0
		for _, p := range md.Topics[topic].Partitions {
			if p.Err == nil && len(p.Replicas) > 0 && p.Leader == p.Replicas[0] {
				led++
			}
		}
		return int32(led) == partitions
	}); err != nil {
		return fmt.Errorf("topic %s: not every partition is led by its preferred replica: %w", topic, err)
	}
	return nil
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
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
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
