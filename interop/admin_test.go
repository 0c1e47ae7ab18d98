package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// adminTimeout bounds one franz-go admin call made by the harness, and the
// wait for a new topic's leaders to settle.
const adminTimeout = 30 * time.Second

// createTopic creates topic on tg with the given partition count and the
// target's replication factor, through franz-go, for suites whose client
// under test does not create topics itself. It returns once every
// partition is led by its preferred (first) replica: the broker elects
// some replica first and its leader placement then moves leadership to the
// preferred one, and a client that cached the first leader and does not
// retry (kafka-python's default) would see NOT_LEADER_OR_FOLLOWER.
func createTopic(t *testing.T, tg *target, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, partitions, tg.replicationFactor(), nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s (%d partitions, RF %d) with franz-go: %v", topic, partitions, tg.replicationFactor(), err)
	}
	for {
		err := preferredLeaders(ctx, tg, cl, topic, partitions)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s: leaders not settled within %v: %v", topic, adminTimeout, err)
		case <-time.After(readyPollInterval):
		}
	}
}

// preferredLeaders asks every broker (metadata is a local read, so each
// may lag) whether each partition of topic is led by its first replica.
func preferredLeaders(ctx context.Context, tg *target, cl *kgo.Client, topic string, partitions int32) error {
	for _, b := range tg.brokers {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		kresp, err := cl.Broker(int(b.ID)).Request(ctx, req)
		if err != nil {
			return fmt.Errorf("node %d: %w", b.ID, err)
		}
		resp := kresp.(*kmsg.MetadataResponse)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || int32(len(resp.Topics[0].Partitions)) != partitions {
			return fmt.Errorf("node %d: topic not complete yet", b.ID)
		}
		for _, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != 0 || len(p.Replicas) == 0 || p.Leader != p.Replicas[0] {
				return fmt.Errorf("node %d: partition %d led by %d, replicas %v, error %d", b.ID, p.Partition, p.Leader, p.Replicas, p.ErrorCode)
			}
		}
	}
	return nil
}

// checkCommitted checks, through franz-go's OffsetFetch, that group has
// committed, for every partition it read acknowledged records from, the
// offset after the last of them: a member that joins later resumes after
// everything the group read.
func checkCommitted(t *testing.T, tg *target, group, topic string, acked []record) {
	t.Helper()
	want := map[int32]int64{}
	for _, a := range acked {
		want[a.Partition] = max(want[a.Partition], a.Offset+1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Errorf("group %s: fetch committed offsets with franz-go: %v", group, err)
		return
	}
	for p, end := range want {
		o, ok := got.Lookup(topic, p)
		switch {
		case !ok:
			t.Errorf("group %s: no committed offset for partition %d (want %d)", group, p, end)
		case o.Err != nil:
			t.Errorf("group %s: committed offset for partition %d: %v", group, p, o.Err)
		case o.At != end:
			t.Errorf("group %s: committed offset %d for partition %d, want %d", group, o.At, p, end)
		}
	}
}
