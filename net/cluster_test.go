package net_test

// End-to-end tests of Metadata and CreateTopics against a real single-broker
// raftsm.Node. They live in package net_test because raftsm imports net.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	gonet "net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/controller"
	kafkanet "github.com/tidemark/tidemark/net"
	"github.com/tidemark/tidemark/raftsm"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startBroker runs one raftsm.Node and the Kafka server in front of it, as
// cmd/broker does, and returns the Kafka address once the broker is
// registered. Each option may change the node's config before it starts.
func startBroker(t *testing.T, options ...func(*raftsm.NodeConfig)) (string, *raftsm.Node) {
	t.Helper()
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	kafkaAddr := ln.Addr().String()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	cfg := raftsm.DefaultNodeConfig()
	cfg.NodeID, cfg.DataDir, cfg.RaftAddr, cfg.KafkaAddr = 1, t.TempDir(), freeAddr(t), kafkaAddr
	cfg.Peers = map[int32]string{1: cfg.RaftAddr}
	cfg.GroupShardCount = 2
	cfg.ReconcileIntervalMs = 50
	cfg.Log = log
	for _, o := range options {
		o(&cfg)
	}
	node, err := raftsm.StartNode(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })

	s, err := kafkanet.New(kafkanet.Config{Log: log}, raftsm.NewKafkaCluster(node, raftsm.KafkaSettings{
		DefaultPartitions: 1, DefaultReplicationFactor: 1, AutoCreateTopics: true}))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })

	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		registered := false
		_ = node.ReadController(func(c *controller.Controller) {
			b, ok := c.Broker(1)
			registered = ok && b.Info.KafkaAddr == kafkaAddr
		})
		if registered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("broker 1 not registered after 20s")
		}
	}
	return kafkaAddr, node
}

func TestMetadataAndCreateTopics(t *testing.T) {
	addr, _ := startBroker(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()

	// Create with 2 partitions: answered once both have a leader.
	created, err := adm.CreateTopics(ctx, 2, 1, nil, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if r := created["orders"]; r.Err != nil {
		t.Fatalf("create orders: %v (%s)", r.Err, r.ErrMessage)
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := topics["orders"]
	if !ok || d.Err != nil || len(d.Partitions) != 2 {
		t.Fatalf("ListTopics orders: %+v (found %v)", d, ok)
	}
	// Topic ids go on the wire from Metadata v10; we serve up to v7.
	for _, p := range d.Partitions.Sorted() {
		if p.Err != nil || p.Leader != 1 || len(p.Replicas) != 1 || p.Replicas[0] != 1 || len(p.ISR) != 1 {
			t.Errorf("orders partition %d: %+v, want leader 1, replicas [1], isr [1]", p.Partition, p)
		}
	}

	// The brokers and the controller.
	meta, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Controller != 1 || len(meta.Brokers) != 1 || meta.Brokers[0].NodeID != 1 || meta.Cluster == "" {
		t.Errorf("metadata: controller %d, brokers %+v, cluster %q; want controller 1, broker 1, a cluster id",
			meta.Controller, meta.Brokers, meta.Cluster)
	}

	// Again: TOPIC_ALREADY_EXISTS. A bad name: INVALID_TOPIC_EXCEPTION.
	again, err := adm.CreateTopics(ctx, 2, 1, nil, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if r := again["orders"]; !errors.Is(r.Err, kerr.TopicAlreadyExists) || r.ErrMessage == "" {
		t.Errorf("create orders again: %v (%q), want TOPIC_ALREADY_EXISTS with a message", r.Err, r.ErrMessage)
	}
	bad, err := adm.CreateTopics(ctx, 1, 1, nil, "bad name!")
	if err != nil {
		t.Fatal(err)
	}
	if r := bad["bad name!"]; !errors.Is(r.Err, kerr.InvalidTopicException) {
		t.Errorf("create \"bad name!\": %v, want INVALID_TOPIC_EXCEPTION", r.Err)
	}
	// Defaults (-1) and manual assignment.
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10_000
	def := kmsg.NewCreateTopicsRequestTopic()
	def.Topic, def.NumPartitions, def.ReplicationFactor = "defaults", -1, -1
	manual := kmsg.NewCreateTopicsRequestTopic()
	manual.Topic, manual.NumPartitions, manual.ReplicationFactor = "manual", -1, -1
	assign := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	assign.Replicas = []int32{1}
	manual.ReplicaAssignment = append(manual.ReplicaAssignment, assign)
	req.Topics = append(req.Topics, def, manual)
	cresp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(cresp.Topics) != 2 || cresp.Topics[0].ErrorCode != 0 || cresp.Topics[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("create defaults + manual: %+v, want 0 and INVALID_REQUEST", cresp.Topics)
	}

	// Metadata v0 with an empty topic list: every topic.
	v0 := rawMetadataV0(t, addr)
	var names []string
	for _, tp := range v0.Topics {
		names = append(names, *tp.Topic)
	}
	if len(names) != 2 || names[0] != "defaults" || names[1] != "orders" {
		t.Errorf("Metadata v0, empty list: topics %v, want [defaults orders]", names)
	}
	if v0.Topics[1].ErrorCode != 0 || len(v0.Topics[1].Partitions) != 2 {
		t.Errorf("Metadata v0 orders: %+v", v0.Topics[1])
	}

	// Unknown topics: not created when the request does not allow it;
	// created (LEADER_NOT_AVAILABLE first) when it does.
	mreq := kmsg.NewPtrMetadataRequest()
	for _, n := range []string{"nope", "bad name!"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		mreq.Topics = append(mreq.Topics, rt)
	}
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(mresp.Topics) != 2 || mresp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code ||
		mresp.Topics[1].ErrorCode != kerr.InvalidTopicException.Code {
		t.Errorf("Metadata of unknown topics: %+v, want UNKNOWN_TOPIC_OR_PARTITION and INVALID_TOPIC_EXCEPTION", mresp.Topics)
	}
	areq := kmsg.NewPtrMetadataRequest()
	areq.AllowAutoTopicCreation = true
	at := kmsg.NewMetadataRequestTopic()
	at.Topic = kmsg.StringPtr("auto")
	areq.Topics = append(areq.Topics, at)
	aresp, err := areq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(aresp.Topics) != 1 || aresp.Topics[0].ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Fatalf("Metadata auto-creating \"auto\": %+v, want LEADER_NOT_AVAILABLE", aresp.Topics)
	}
	for {
		aresp, err = areq.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if tp := aresp.Topics[0]; tp.ErrorCode == 0 && len(tp.Partitions) == 1 && tp.Partitions[0].Leader == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("auto-created topic never got a leader: %+v", aresp.Topics[0])
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rawMetadataV0 sends Metadata v0 with an empty topic list on its own
// connection (franz-go always negotiates the highest version).
func rawMetadataV0(t *testing.T, addr string) *kmsg.MetadataResponse {
	t.Helper()
	c, err := gonet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 0
	req.Topics = []kmsg.MetadataRequestTopic{}
	frame := []byte{0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 7, 0, 0} // size, key 3, v0, correlation 7, empty client id
	frame = req.AppendTo(frame)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != 7 {
		t.Fatalf("correlation id %d, want 7", corr)
	}
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatal(err)
	}
	return resp
}

// Metadata v7 carries the partition leader's Raft term as its leader
// epoch, and a produced batch comes back stamped with that epoch.
func TestMetadataV7LeaderEpoch(t *testing.T) {
	addr, _ := startBroker(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("epochs"), kgo.ConsumeTopics("epochs"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if r, err := kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, "epochs"); err != nil || r["epochs"].Err != nil {
		t.Fatalf("create epochs: %v %+v", err, r)
	}
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 7
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("epochs")
	req.Topics = append(req.Topics, rt)
	var epoch int32 = -1
	for epoch < 0 && ctx.Err() == nil {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 && resp.Topics[0].Partitions[0].Leader == 1 {
			epoch = resp.Topics[0].Partitions[0].LeaderEpoch
		}
		if epoch < 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if epoch < 1 {
		t.Fatalf("Metadata v7 leader epoch %d, want the leader's Raft term (>= 1)", epoch)
	}
	if err := cl.ProduceSync(ctx, kgo.StringRecord("v")).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	fs := cl.PollFetches(ctx)
	if errs := fs.Errors(); len(errs) > 0 {
		t.Fatalf("fetch: %v", errs)
	}
	recs := fs.Records()
	if len(recs) != 1 || recs[0].LeaderEpoch != epoch {
		t.Fatalf("fetched %d records, first with leader epoch %v; want 1 record under epoch %d", len(recs), func() any {
			if len(recs) > 0 {
				return recs[0].LeaderEpoch
			}
			return nil
		}(), epoch)
	}
}
