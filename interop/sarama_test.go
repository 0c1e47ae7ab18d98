package interop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// saramaWait bounds sarama's consumer group run and each of its admin
// calls (sarama's own timeouts are per request, not per operation).
const saramaWait = 20 * time.Second

// IBM/sarama with its default configuration (Kafka 2.8 protocol, hash
// partitioner): ClusterAdmin creates the topic, describes the cluster and
// lists topics; a SyncProducer sends keyed records; a consumer group reads
// them all from the oldest offset and commits.
func TestSarama(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		const partitions = 2
		topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
		cfg := sarama.NewConfig()
		cfg.ClientID = "tidemark-interop-sarama"
		cfg.Producer.Return.Successes = true // required by SyncProducer
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Admin.Timeout = saramaWait

		admin, err := sarama.NewClusterAdmin(tg.addrs(), cfg)
		if err != nil {
			t.Fatalf("sarama.NewClusterAdmin: %v", err)
		}
		defer admin.Close()
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: tg.replicationFactor()}, false); err != nil {
			t.Fatalf("ClusterAdmin.CreateTopic: %v", err)
		}
		checkSaramaAdmin(t, tg, admin, topic, partitions)

		sent := keyedRecords(30, 6)
		acked := saramaProduce(t, tg, cfg, topic, sent)
		checkAcked(t, sent, acked, partitions)

		requireAPIs(t, tg, "a sarama consumer group", groupAPIs...)
		read, err := saramaConsumeGroup(tg, cfg, topic, group, len(acked))
		if err != nil {
			t.Errorf("sarama consumer group %s: %v", group, err)
		}
		checkReadOnce(t, "sarama group "+group, acked, read)
		if err == nil {
			checkCommitted(t, tg, group, topic, acked)
		}
	})
}

// checkSaramaAdmin: DescribeCluster lists every broker at its address and a
// controller among them; ListTopics has the topic with its partitions and
// replication factor.
func checkSaramaAdmin(t *testing.T, tg *target, admin sarama.ClusterAdmin, topic string, partitions int32) {
	t.Helper()
	requireAPIs(t, tg, "sarama ClusterAdmin.DescribeCluster (sarama's default protocol version 2.8 uses the DescribeCluster API)", describeClusterAPI)
	brokers, controller, err := admin.DescribeCluster()
	if err != nil {
		t.Errorf("ClusterAdmin.DescribeCluster: %v", err)
	} else {
		got := map[int32]string{}
		for _, b := range brokers {
			got[b.ID()] = b.Addr()
		}
		for _, b := range tg.brokers {
			if got[b.ID] != b.KafkaAddr {
				t.Errorf("DescribeCluster: broker %d at %q, want %s (brokers %v)", b.ID, got[b.ID], b.KafkaAddr, got)
			}
		}
		if _, ok := got[controller]; !ok || len(got) != len(tg.brokers) {
			t.Errorf("DescribeCluster: controller %d, brokers %v", controller, got)
		}
	}
	// sarama's ListTopics reads every topic's configs (DescribeConfigs) to
	// fill in the topic details.
	requireAPIs(t, tg, "sarama ClusterAdmin.ListTopics (it describes every topic's configs)", describeConfigsAPI)
	topics, err := admin.ListTopics()
	if err != nil {
		t.Errorf("ClusterAdmin.ListTopics: %v", err)
		return
	}
	td, ok := topics[topic]
	if !ok || td.NumPartitions != partitions || td.ReplicationFactor != tg.replicationFactor() {
		t.Errorf("ListTopics: %s present %v with %d partitions and RF %d, want %d and %d", topic, ok, td.NumPartitions, td.ReplicationFactor, partitions, tg.replicationFactor())
	}
	if _, ok := topics[readyTopic]; !ok {
		t.Errorf("ListTopics does not list %s", readyTopic)
	}
}

func saramaProduce(t *testing.T, tg *target, cfg *sarama.Config, topic string, sent []record) []record {
	t.Helper()
	p, err := sarama.NewSyncProducer(tg.addrs(), cfg)
	if err != nil {
		t.Fatalf("sarama.NewSyncProducer: %v", err)
	}
	defer p.Close()
	var acked []record
	for _, r := range sent {
		part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)})
		if err != nil {
			t.Fatalf("SyncProducer.SendMessage %v: %v (%d acknowledged before)", r, err, len(acked))
		}
		acked = append(acked, record{Key: r.Key, Value: r.Value, Partition: part, Offset: off})
	}
	return acked
}

// saramaConsumeGroup runs one group member until it has read want records
// (marking each), or saramaWait passes.
func saramaConsumeGroup(tg *target, cfg *sarama.Config, topic, group string, want int) ([]record, error) {
	cg, err := sarama.NewConsumerGroup(tg.addrs(), group, cfg)
	if err != nil {
		return nil, fmt.Errorf("sarama.NewConsumerGroup: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), saramaWait)
	defer cancel()
	h := &saramaHandler{want: want, done: cancel}
	var errs []error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // sarama reports asynchronous errors here when Return.Errors is set; drain either way
		defer wg.Done()
		for err := range cg.Errors() {
			errs = append(errs, err)
		}
	}()
	for ctx.Err() == nil {
		// Consume returns at every rebalance; it is called again until
		// every record is read or the wait is over.
		if err := cg.Consume(ctx, []string{topic}, h); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, err)
			break
		}
	}
	closeErr := cg.Close()
	wg.Wait()
	read := h.records()
	if closeErr != nil {
		errs = append(errs, fmt.Errorf("close: %w", closeErr))
	}
	if len(read) < want {
		errs = append(errs, fmt.Errorf("read %d of %d records within %v", len(read), want, saramaWait))
	}
	return read, errors.Join(errs...)
}

// saramaHandler collects what the group member reads.
type saramaHandler struct {
	want int
	done func()

	mu   sync.Mutex
	read []record
}

func (h *saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		h.read = append(h.read, record{Key: string(m.Key), Value: string(m.Value), Partition: m.Partition, Offset: m.Offset})
		n := len(h.read)
		h.mu.Unlock()
		s.MarkMessage(m, "")
		if n >= h.want {
			s.Commit()
			h.done()
		}
	}
	return nil
}

func (h *saramaHandler) records() []record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.read)
}
