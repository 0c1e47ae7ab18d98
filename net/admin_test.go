package net_test

// End-to-end tests of the administration APIs (DeleteTopics,
// CreatePartitions, DeleteRecords, DescribeConfigs, AlterConfigs,
// IncrementalAlterConfigs, DescribeCluster) with franz-go's kadm and raw
// kmsg requests against a real single-broker raftsm.Node.

import (
	"context"
	"errors"
	gonet "net"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/raftsm"
)

// adminClient connects kgo and kadm to addr. Records go to the partition
// they name, so tests can produce to a partition just created.
func adminClient(t *testing.T, addr string) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

func produceOne(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, p int32, value string) int64 {
	t.Helper()
	r, err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(value)}).First()
	if err != nil {
		t.Fatalf("produce to %s/%d: %v", topic, p, err)
	}
	return r.Offset
}

// rawProduceCode produces one batch with a raw Produce v7 and returns the
// partition's error code: kgo would retry an unknown topic.
func rawProduceCode(ctx context.Context, t *testing.T, cl *kgo.Client, topic string) int16 {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch.Build(batch.BuildSpec{Records: []batch.Record{{Value: []byte("x")}}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// rawRoundTrip returns a function that sends a request (non-flexible
// versions only) on its own connection and decodes the answer: kgo would
// route partitions and broker resources by itself, or refuse them.
func rawRoundTrip(t *testing.T, addr string) func(req kmsg.Request, resp kmsg.Response) {
	t.Helper()
	c, err := gonet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a safety net, not an assertion
	corr := int32(100)
	return func(req kmsg.Request, resp kmsg.Response) {
		t.Helper()
		corr++
		send(t, c, corr, req)
		resp.SetVersion(req.GetVersion())
		recv(t, c, corr, resp)
	}
}

func topicShards(t *testing.T, node *raftsm.Node, topic string) []uint64 {
	t.Helper()
	var shards []uint64
	if err := node.ReadController(func(c *controller.Controller) {
		if ti, ok := c.Topic(topic); ok {
			for _, p := range ti.Partitions {
				shards = append(shards, uint64(p.Shard))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return shards
}

func TestAdminDeleteTopicsAndPartitions(t *testing.T) {
	addr, node := startBroker(t)
	cl, adm := adminClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Create, produce, delete.
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "doomed"); err != nil {
		t.Fatal(err)
	}
	waitLeader(ctx, t, adm, "doomed")
	produceOne(ctx, t, cl, "doomed", 0, "a")
	if off := produceOne(ctx, t, cl, "doomed", 0, "b"); off != 1 {
		t.Fatalf("second record at offset %d, want 1", off)
	}
	old := topicShards(t, node, "doomed")
	if len(old) != 1 {
		t.Fatalf("doomed has shards %v", old)
	}
	if r, err := adm.DeleteTopic(ctx, "doomed"); err != nil || r.Err != nil {
		t.Fatalf("delete doomed: %v / %+v", err, r)
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("doomed") {
		t.Errorf("doomed still listed after deletion")
	}
	if code := rawProduceCode(ctx, t, cl, "doomed"); code != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("produce to deleted topic: code %d, want UNKNOWN_TOPIC_OR_PARTITION", code)
	}
	// Its replica is stopped and its data removed (stopReplica drops the
	// shard from LocalShards only once Raft log and state are gone).
	for slices.Contains(node.LocalShards(), old[0]) {
		select {
		case <-ctx.Done():
			t.Fatalf("replica of deleted shard %d still running", old[0])
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Deleting again, deleting an unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
	dels, err := adm.DeleteTopics(ctx, "doomed", "never")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"doomed", "never"} {
		if !errors.Is(dels[name].Err, kerr.UnknownTopicOrPartition) {
			t.Errorf("delete %s again: %v, want UNKNOWN_TOPIC_OR_PARTITION", name, dels[name].Err)
		}
	}
	// Created again under the same name: new shards, offsets from 0.
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "doomed"); err != nil {
		t.Fatal(err)
	}
	if now := topicShards(t, node, "doomed"); len(now) != 1 || now[0] == old[0] {
		t.Errorf("recreated doomed has shards %v, want one new shard (old %v)", now, old)
	}
	waitLeader(ctx, t, adm, "doomed")
	if off := produceOne(ctx, t, cl, "doomed", 0, "c"); off != 0 {
		t.Errorf("first record of the recreated topic at offset %d, want 0", off)
	}
	// A topic named twice: INVALID_REQUEST for both copies, nothing deleted.
	dreq := kmsg.NewPtrDeleteTopicsRequest()
	dreq.TimeoutMillis = 5000
	dreq.TopicNames = []string{"doomed", "doomed"}
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dresp.Topics) != 2 || dresp.Topics[0].ErrorCode != kerr.InvalidRequest.Code || dresp.Topics[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("delete a topic named twice: %+v, want INVALID_REQUEST twice", dresp.Topics)
	}
	if len(topicShards(t, node, "doomed")) != 1 {
		t.Errorf("doomed deleted by a request naming it twice")
	}

	// CreatePartitions: validate-only leaves no trace; then grow 1 -> 3 and
	// produce to the new partition.
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "grow"); err != nil {
		t.Fatal(err)
	}
	if rs, err := adm.ValidateCreatePartitions(ctx, 2, "grow"); err != nil || rs.Error() != nil {
		t.Fatalf("validate grow: %v / %v", err, rs.Error())
	}
	if n := len(topicShards(t, node, "grow")); n != 1 {
		t.Errorf("after validate-only CreatePartitions grow has %d partitions, want 1", n)
	}
	if rs, err := adm.CreatePartitions(ctx, 2, "grow"); err != nil || rs.Error() != nil {
		t.Fatalf("grow: %v / %v", err, rs.Error())
	}
	if n := len(topicShards(t, node, "grow")); n != 3 {
		t.Fatalf("grow has %d partitions, want 3", n)
	}
	waitLeader(ctx, t, adm, "grow")
	if off := produceOne(ctx, t, cl, "grow", 2, "new"); off != 0 {
		t.Errorf("first record of the new partition at offset %d, want 0", off)
	}
	// Not growing, unknown topic, manual assignment, named twice.
	same, err := adm.UpdatePartitions(ctx, 3, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if r := same["grow"]; !errors.Is(r.Err, kerr.InvalidPartitions) || r.ErrMessage == "" {
		t.Errorf("grow to the same count: %v (%q), want INVALID_PARTITIONS with a message", r.Err, r.ErrMessage)
	}
	preq := kmsg.NewPtrCreatePartitionsRequest()
	preq.TimeoutMillis = 5000
	for _, tc := range []struct {
		name   string
		count  int32
		assign bool
	}{{"nope", 2, false}, {"grow", 4, true}, {"twice", 2, false}, {"twice", 3, false}} {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = tc.name, tc.count
		if tc.assign {
			a := kmsg.NewCreatePartitionsRequestTopicAssignment()
			a.Replicas = []int32{1}
			rt.Assignment = append(rt.Assignment, a)
		}
		preq.Topics = append(preq.Topics, rt)
	}
	presp, err := preq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	want := []int16{kerr.UnknownTopicOrPartition.Code, kerr.InvalidRequest.Code, kerr.InvalidRequest.Code, kerr.InvalidRequest.Code}
	if len(presp.Topics) != len(want) {
		t.Errorf("CreatePartitions answered %d topics, want %d", len(presp.Topics), len(want))
	}
	for i, rt := range presp.Topics {
		if i >= len(want) || rt.ErrorCode != want[i] || rt.ErrorMessage == nil {
			t.Errorf("CreatePartitions %s: code %d message %v, want %d with a message", rt.Topic, rt.ErrorCode, rt.ErrorMessage, want[i])
		}
	}
	if n := len(topicShards(t, node, "grow")); n != 3 {
		t.Errorf("grow has %d partitions after refused requests, want 3", n)
	}
}

func TestAdminDeleteRecords(t *testing.T) {
	addr, _ := startBroker(t)
	cl, adm := adminClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "trim"); err != nil {
		t.Fatal(err)
	}
	waitLeader(ctx, t, adm, "trim")
	for i := range 5 {
		produceOne(ctx, t, cl, "trim", 0, string(rune('a'+i)))
	}
	deleteAt := func(offset int64) kadm.DeleteRecordsResponse {
		t.Helper()
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: "trim", Partition: 0, At: offset})
		rs, err := adm.DeleteRecords(ctx, os)
		if err != nil {
			t.Fatal(err)
		}
		return rs["trim"][0]
	}
	if r := deleteAt(3); r.Err != nil || r.LowWatermark != 3 {
		t.Fatalf("delete before 3: %+v, want low watermark 3", r)
	}
	starts, err := adm.ListStartOffsets(ctx, "trim")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := starts.Lookup("trim", 0); s.Err != nil || s.Offset != 3 {
		t.Errorf("log start after DeleteRecords: %+v, want 3", s)
	}
	// A fetch below the log start: OFFSET_OUT_OF_RANGE.
	freq := kmsg.NewPtrFetchRequest()
	freq.MaxWaitMillis, freq.MaxBytes = 100, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "trim"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 1, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	freq.Topics = append(freq.Topics, ft)
	fresp, err := freq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := fresp.Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != 3 {
		t.Errorf("fetch at 1 after DeleteRecords: code %d log start %d, want OFFSET_OUT_OF_RANGE and 3", p.ErrorCode, p.LogStartOffset)
	}
	// Below the log start: nothing to delete, answered with the log start
	// (as Kafka). Past the high watermark: OFFSET_OUT_OF_RANGE. -1: up to
	// the high watermark.
	if r := deleteAt(1); r.Err != nil || r.LowWatermark != 3 {
		t.Errorf("delete before 1 (below log start 3): %+v, want low watermark 3", r)
	}
	if r := deleteAt(6); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Errorf("delete before 6 (high watermark 5): %+v, want OFFSET_OUT_OF_RANGE", r)
	}
	if r := deleteAt(-1); r.Err != nil || r.LowWatermark != 5 {
		t.Errorf("delete before -1: %+v, want low watermark 5 (the high watermark)", r)
	}
	// Unknown partition and topic.
	rreq := kmsg.NewPtrDeleteRecordsRequest()
	rreq.TimeoutMillis = 5000
	for _, name := range []string{"trim", "nope"} {
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = name
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = 7, 0
		rt.Partitions = append(rt.Partitions, rp)
		rreq.Topics = append(rreq.Topics, rt)
	}
	rreq.Version = 1
	rresp := kmsg.NewPtrDeleteRecordsResponse()
	rawRoundTrip(t, addr)(rreq, rresp)
	for _, rt := range rresp.Topics {
		if p := rt.Partitions[0]; p.ErrorCode != kerr.UnknownTopicOrPartition.Code || p.LowWatermark != -1 {
			t.Errorf("DeleteRecords %s/7: %+v, want UNKNOWN_TOPIC_OR_PARTITION and -1", rt.Topic, p)
		}
	}
}

// configOf finds key in a described resource.
func configOf(t *testing.T, rc kadm.ResourceConfig, key string) kadm.Config {
	t.Helper()
	for _, c := range rc.Configs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("%s: no config %s among %d", rc.Name, key, len(rc.Configs))
	return kadm.Config{}
}

func describeTopic(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) kadm.ResourceConfig {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe %s: %v / %v", topic, err, rc.Err)
	}
	return rc
}

func TestAdminConfigsAndCluster(t *testing.T) {
	addr, _ := startBroker(t)
	cl, adm := adminClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kmsg.StringPtr("1000")}, "cfg"); err != nil {
		t.Fatal(err)
	}

	// DescribeConfigs of a topic: every supported key; the set one as a
	// topic override with its synonyms, the others as defaults.
	rc := describeTopic(ctx, t, adm, "cfg")
	if len(rc.Configs) != len(controller.TopicConfigSpecs()) {
		t.Errorf("cfg has %d configs, want %d", len(rc.Configs), len(controller.TopicConfigSpecs()))
	}
	ret := configOf(t, rc, "retention.ms")
	if ret.MaybeValue() != "1000" || ret.Source != kmsg.ConfigSourceDynamicTopicConfig || ret.Sensitive ||
		len(ret.Synonyms) != 2 || ret.Synonyms[0].Source != kmsg.ConfigSourceDynamicTopicConfig ||
		ret.Synonyms[1].Key != "log.retention.ms" || ret.Synonyms[1].Source != kmsg.ConfigSourceDefaultConfig ||
		ret.Synonyms[1].Value == nil || *ret.Synonyms[1].Value != "604800000" {
		t.Errorf("retention.ms: %+v, want 1000 from the topic with synonyms [itself, log.retention.ms default]", ret)
	}
	if mm := configOf(t, rc, "max.message.bytes"); mm.MaybeValue() != "1048588" || mm.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("max.message.bytes: %+v, want the default 1048588", mm)
	}

	// DescribeConfigs of this broker: its settings, read-only.
	brs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	br, err := brs.On("1", nil)
	if err != nil || br.Err != nil {
		t.Fatalf("describe broker 1: %v / %v", err, br.Err)
	}
	for key, want := range map[string]string{"num.partitions": "1", "default.replication.factor": "1",
		"auto.create.topics.enable": "true", "message.max.bytes": "1048588", "broker.id": "1", "log.retention.ms": "604800000"} {
		if c := configOf(t, br, key); c.MaybeValue() != want {
			t.Errorf("broker config %s = %q, want %q", key, c.MaybeValue(), want)
		}
	}
	if c := configOf(t, br, "num.partitions"); c.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Errorf("num.partitions source %v, want STATIC_BROKER_CONFIG", c.Source)
	}

	// Raw DescribeConfigs: a name filter, an unknown topic, another broker,
	// an unsupported resource type.
	dreq := kmsg.NewPtrDescribeConfigsRequest()
	dreq.Version = 2
	for _, r := range []struct {
		kind  kmsg.ConfigResourceType
		name  string
		names []string
	}{
		{kmsg.ConfigResourceTypeTopic, "cfg", []string{"segment.ms", "no.such.key"}},
		{kmsg.ConfigResourceTypeTopic, "nope", nil},
		{kmsg.ConfigResourceTypeBroker, "7", nil},
		{kmsg.ConfigResourceTypeBrokerLogger, "1", nil},
	} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.ConfigNames = r.kind, r.name, r.names
		dreq.Resources = append(dreq.Resources, rr)
	}
	dresp := kmsg.NewPtrDescribeConfigsResponse()
	raw := rawRoundTrip(t, addr)
	raw(dreq, dresp)
	if rs := dresp.Resources; len(rs) != 4 || rs[0].ErrorCode != 0 || len(rs[0].Configs) != 1 || rs[0].Configs[0].Name != "segment.ms" ||
		rs[1].ErrorCode != kerr.UnknownTopicOrPartition.Code || rs[2].ErrorCode != kerr.InvalidRequest.Code ||
		rs[3].ErrorCode != kerr.InvalidRequest.Code || rs[3].ErrorMessage == nil {
		t.Errorf("raw DescribeConfigs: %+v", dresp.Resources)
	}

	// IncrementalAlterConfigs: set, validate-only, bad key and value,
	// APPEND on a non-list, delete.
	alter := func(validate bool, configs ...kadm.AlterConfig) kadm.AlterConfigsResponse {
		t.Helper()
		f := adm.AlterTopicConfigs
		if validate {
			f = adm.ValidateAlterTopicConfigs
		}
		rs, err := f(ctx, configs, "cfg")
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			t.Fatalf("alter: %d responses", len(rs))
		}
		return rs[0]
	}
	if r := alter(false, kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("5000")}); r.Err != nil {
		t.Fatalf("set retention.ms: %v (%s)", r.Err, r.ErrMessage)
	}
	if c := configOf(t, describeTopic(ctx, t, adm, "cfg"), "retention.ms"); c.MaybeValue() != "5000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("retention.ms after set: %+v, want 5000 as a topic override", c)
	}
	if r := alter(true, kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("1")}); r.Err != nil {
		t.Fatalf("validate retention.ms=1: %v", r.Err)
	}
	for _, tc := range []struct {
		cfg  kadm.AlterConfig
		want error
	}{
		{kadm.AlterConfig{Op: kadm.SetConfig, Name: "no.such.key", Value: kmsg.StringPtr("1")}, kerr.InvalidConfig},
		{kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("soon")}, kerr.InvalidConfig},
		{kadm.AlterConfig{Op: kadm.AppendConfig, Name: "retention.ms", Value: kmsg.StringPtr("1")}, kerr.InvalidRequest},
		{kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("compact")}, kerr.InvalidConfig},
		{kadm.AlterConfig{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("delete")}, kerr.InvalidConfig},
	} {
		if r := alter(false, tc.cfg); !errors.Is(r.Err, tc.want) || r.ErrMessage == "" {
			t.Errorf("alter %+v: %v (%q), want %v with a message", tc.cfg, r.Err, r.ErrMessage, tc.want)
		}
	}
	rc = describeTopic(ctx, t, adm, "cfg")
	if c := configOf(t, rc, "retention.ms"); c.MaybeValue() != "5000" {
		t.Errorf("retention.ms after validate-only and refused alters: %q, want 5000", c.MaybeValue())
	}
	if c := configOf(t, rc, "cleanup.policy"); c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("cleanup.policy after refused alters: %+v, want the default", c)
	}
	if r := alter(false, kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("delete")},
		kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "retention.ms"}); r.Err != nil {
		t.Fatalf("append cleanup.policy=delete, delete retention.ms: %v (%s)", r.Err, r.ErrMessage)
	}
	rc = describeTopic(ctx, t, adm, "cfg")
	if c := configOf(t, rc, "cleanup.policy"); c.MaybeValue() != "delete" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("cleanup.policy after APPEND delete: %+v, want delete as a topic override", c)
	}
	if c := configOf(t, rc, "retention.ms"); c.MaybeValue() != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("retention.ms after DELETE: %+v, want the default", c)
	}

	// Legacy AlterConfigs replaces the overrides: cleanup.policy goes back
	// to its default. Validate-only first, which changes nothing.
	state := []kadm.AlterConfig{{Name: "segment.ms", Value: kmsg.StringPtr("60000")}}
	if rs, err := adm.ValidateAlterTopicConfigsState(ctx, state, "cfg"); err != nil || rs[0].Err != nil {
		t.Fatalf("validate state: %v / %+v", err, rs)
	}
	if c := configOf(t, describeTopic(ctx, t, adm, "cfg"), "segment.ms"); c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("segment.ms after validate-only AlterConfigs: %+v, want the default", c)
	}
	if rs, err := adm.AlterTopicConfigsState(ctx, state, "cfg"); err != nil || rs[0].Err != nil {
		t.Fatalf("alter state: %v / %+v", err, rs)
	}
	rc = describeTopic(ctx, t, adm, "cfg")
	if c := configOf(t, rc, "segment.ms"); c.MaybeValue() != "60000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("segment.ms after AlterConfigs: %+v, want 60000 as a topic override", c)
	}
	if c := configOf(t, rc, "cleanup.policy"); c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("cleanup.policy after AlterConfigs without it: %+v, want the default", c)
	}
	// Legacy errors: a bad value (nothing changes), a null value, a broker
	// config, the same topic twice.
	areq := kmsg.NewPtrAlterConfigsRequest()
	for _, r := range []struct {
		kind  kmsg.ConfigResourceType
		name  string
		key   string
		value *string
	}{
		{kmsg.ConfigResourceTypeTopic, "cfg", "segment.ms", kmsg.StringPtr("0")},
		{kmsg.ConfigResourceTypeTopic, "grow", "segment.ms", nil},
		{kmsg.ConfigResourceTypeBroker, "1", "num.partitions", kmsg.StringPtr("3")},
		{kmsg.ConfigResourceTypeTopic, "twice", "retention.ms", kmsg.StringPtr("1")},
		{kmsg.ConfigResourceTypeTopic, "twice", "retention.ms", kmsg.StringPtr("1")},
	} {
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.kind, r.name
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = r.key, r.value
		rr.Configs = append(rr.Configs, c)
		areq.Resources = append(areq.Resources, rr)
	}
	areq.Version = 1
	aresp := kmsg.NewPtrAlterConfigsResponse()
	raw(areq, aresp) // kgo would split the request by resource
	wantCodes := []int16{kerr.InvalidConfig.Code, kerr.InvalidRequest.Code, kerr.InvalidConfig.Code, kerr.InvalidRequest.Code, kerr.InvalidRequest.Code}
	if len(aresp.Resources) != len(wantCodes) {
		t.Errorf("AlterConfigs answered %d resources, want %d", len(aresp.Resources), len(wantCodes))
	}
	for i, r := range aresp.Resources {
		if i >= len(wantCodes) || r.ErrorCode != wantCodes[i] || r.ErrorMessage == nil {
			t.Errorf("AlterConfigs resource %d (%s): code %d message %v, want %d with a message", i, r.ResourceName, r.ErrorCode, r.ErrorMessage, wantCodes[i])
		}
	}
	if c := configOf(t, describeTopic(ctx, t, adm, "cfg"), "segment.ms"); c.MaybeValue() != "60000" {
		t.Errorf("segment.ms after a refused AlterConfigs: %q, want 60000", c.MaybeValue())
	}

	// DescribeCluster v0 (flexible): the broker, the controller, the id.
	creq := kmsg.NewPtrDescribeClusterRequest()
	cresp, err := creq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if cresp.ErrorCode != 0 || cresp.ClusterID == "" || cresp.ControllerID != 1 || len(cresp.Brokers) != 1 ||
		cresp.Brokers[0].NodeID != 1 || cresp.Brokers[0].Port == 0 {
		t.Errorf("DescribeCluster: %+v", cresp)
	}
}

// TestAdminSarama drives the admin APIs with IBM/sarama's ClusterAdmin at
// Kafka 2.8, whose DescribeCluster is the API's flexible v0.
func TestAdminSarama(t *testing.T) {
	addr, node := startBroker(t)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Admin.Timeout = 10 * time.Second
	ca, err := sarama.NewClusterAdmin([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()

	brokers, controllerID, err := ca.DescribeCluster()
	if err != nil || controllerID != 1 || len(brokers) != 1 || brokers[0].ID() != 1 || brokers[0].Addr() != addr {
		t.Fatalf("DescribeCluster: %v, controller %d, %d brokers", err, controllerID, len(brokers))
	}
	if err := ca.CreateTopic("s", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	if err := ca.CreatePartitions("s", 2, nil, false); err != nil {
		t.Fatalf("CreatePartitions: %v", err)
	}
	if n := len(topicShards(t, node, "s")); n != 2 {
		t.Errorf("s has %d partitions, want 2", n)
	}
	if err := ca.IncrementalAlterConfig(sarama.TopicResource, "s", map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: kmsg.StringPtr("7000")}}, false); err != nil {
		t.Fatalf("IncrementalAlterConfig: %v", err)
	}
	if err := ca.AlterConfig(sarama.TopicResource, "s", map[string]*string{"retention.bytes": kmsg.StringPtr("1000")}, false); err != nil {
		t.Fatalf("AlterConfig: %v", err)
	}
	entries, err := ca.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		got[e.Name] = e.Value
	}
	// AlterConfig replaced the overrides: retention.ms is back to its default.
	if got["retention.bytes"] != "1000" || got["retention.ms"] != "604800000" || len(got) != len(controller.TopicConfigSpecs()) {
		t.Errorf("DescribeConfig s: %v", got)
	}
	if err := ca.AlterConfig(sarama.TopicResource, "s", map[string]*string{"no.such.key": kmsg.StringPtr("1")}, false); !errors.Is(err, sarama.ErrInvalidConfig) {
		t.Errorf("AlterConfig of an unknown key: %v, want INVALID_CONFIG", err)
	}
	if err := ca.DeleteTopic("s"); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	if len(topicShards(t, node, "s")) != 0 {
		t.Errorf("s still exists after DeleteTopic")
	}
}
