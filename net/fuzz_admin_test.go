package net

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
)

// fixedCluster's admin side: "topic" exists with defaults and can be
// deleted, grown, trimmed and altered (nothing is applied); anything else
// is unknown.

func (fixedCluster) DeleteTopic(_ context.Context, name string) (controller.TopicID, error) {
	if name != "topic" {
		return controller.TopicID{}, core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	return controller.TopicID{1}, nil
}

func (fixedCluster) CreatePartitions(_ context.Context, name string, total int32, _ bool) error {
	if name != "topic" {
		return core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	if total <= 2 {
		return core.Errorf(core.InvalidPartitions, "not more than 2")
	}
	return nil
}

func (fixedCluster) DeleteRecords(_ context.Context, topic string, p int32, offset int64) (partition.DeleteRecordsResult, error) {
	if topic != "topic" || p < 0 || p > 1 {
		return partition.DeleteRecordsResult{}, core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	if offset != 0 && offset != -1 {
		return partition.DeleteRecordsResult{LowWatermark: -1, Err: core.Errorf(core.OffsetOutOfRange, "empty log")}, nil
	}
	return partition.DeleteRecordsResult{LowWatermark: 0}, nil
}

func (fixedCluster) TopicConfigs(topic string) ([]controller.ConfigValue, error) {
	if topic != "topic" {
		return nil, core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	return controller.EffectiveConfigs([]controller.ConfigEntry{{Key: controller.ConfigRetentionMs, Value: "1000"}}), nil
}

func (fixedCluster) AlterTopicConfigs(_ context.Context, topic string, ops []controller.ConfigOp, _ bool) error {
	if topic != "topic" {
		return core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	for _, op := range ops {
		if op.Op == controller.ConfigOpSet {
			if _, err := controller.ValidateTopicConfig(op.Key, op.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func (fixedCluster) BrokerID() int32 { return 1 }

func (fixedCluster) BrokerConfigs() []controller.ConfigValue {
	return []controller.ConfigValue{{Key: "broker.id", Value: "1", Type: controller.ConfigTypeInt}}
}

// serveFixed runs one request through parsing, dispatch and encoding
// against fixedCluster, as a connection does, and decodes the answer.
func serveFixed(t *testing.T, req kmsg.Request, version int16) kmsg.Response {
	t.Helper()
	reg, err := newRegistry(supportedAPIs)
	if err != nil {
		t.Fatal(err)
	}
	frame := frameRequest(req, version, 42)[4:]
	r, err := parseRequest(frame, reg)
	if err != nil {
		t.Fatalf("parse %T v%d: %v", req, version, err)
	}
	r.rc.cluster = fixedCluster{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out, err := serveFlat(ctx, r)
	if err != nil {
		t.Fatalf("serve %T v%d: %v", req, version, err)
	}
	if corr := int32(binary.BigEndian.Uint32(out[4:])); corr != 42 {
		t.Fatalf("correlation id %d, want 42", corr)
	}
	body := out[8:]
	resp := req.ResponseKind()
	resp.SetVersion(version)
	if resp.IsFlexible() {
		if body[0] != 0 {
			t.Fatalf("%T v%d: response header tag byte %d, want 0", resp, version, body[0])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decode %T v%d: %v", resp, version, err)
	}
	return resp
}

// TestDescribeConfigsVersions checks what each version carries: v0
// IsDefault, v1+ Source and, when asked, synonyms.
func TestDescribeConfigsVersions(t *testing.T) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "topic"
	req.Resources = append(req.Resources, rr)
	br := kmsg.NewDescribeConfigsRequestResource()
	br.ResourceType, br.ResourceName = kmsg.ConfigResourceTypeBroker, "1"
	req.Resources = append(req.Resources, br)
	req.IncludeSynonyms = true
	for v := int16(0); v <= 2; v++ {
		resp := serveFixed(t, req, v).(*kmsg.DescribeConfigsResponse)
		if len(resp.Resources) != 2 || resp.Resources[0].ErrorCode != 0 || resp.Resources[1].ErrorCode != 0 {
			t.Fatalf("v%d: %+v", v, resp.Resources)
		}
		for _, c := range resp.Resources[0].Configs {
			set := c.Name == controller.ConfigRetentionMs
			switch {
			case v == 0 && c.IsDefault == set:
				t.Errorf("v0 %s: IsDefault %v", c.Name, c.IsDefault)
			case v >= 1 && set && (c.Source != kmsg.ConfigSourceDynamicTopicConfig || len(c.ConfigSynonyms) != 2 ||
				*c.ConfigSynonyms[0].Value != "1000" || c.ConfigSynonyms[1].Name != "log.retention.ms"):
				t.Errorf("v%d %s: %+v", v, c.Name, c)
			case v >= 1 && !set && (c.Source != kmsg.ConfigSourceDefaultConfig || len(c.ConfigSynonyms) != 1):
				t.Errorf("v%d %s: %+v", v, c.Name, c)
			case c.ReadOnly || c.IsSensitive || c.Value == nil:
				t.Errorf("v%d %s: read-only %v sensitive %v value %v", v, c.Name, c.ReadOnly, c.IsSensitive, c.Value)
			}
		}
		broker := resp.Resources[1].Configs
		if len(broker) != 1+len(brokerSynonyms) || broker[0].Name != "broker.id" || !broker[0].ReadOnly {
			t.Errorf("v%d broker configs: %+v", v, broker)
		}
		if v >= 1 && broker[0].Source != kmsg.ConfigSourceStaticBrokerConfig {
			t.Errorf("v%d broker.id source %d, want STATIC_BROKER_CONFIG", v, broker[0].Source)
		}
	}
}

func TestBrokerSynonymsCoverSpecs(t *testing.T) {
	for _, s := range controller.TopicConfigSpecs() {
		if _, ok := brokerSynonyms[s.Key]; !ok {
			t.Errorf("topic config %s has no broker synonym", s.Key)
		}
	}
	if len(brokerSynonyms) != len(controller.TopicConfigSpecs()) {
		t.Errorf("%d broker synonyms for %d topic configs", len(brokerSynonyms), len(controller.TopicConfigSpecs()))
	}
}

func TestListOp(t *testing.T) {
	for _, tc := range []struct {
		current, value string
		op             kmsg.IncrementalAlterConfigOp
		want           string
	}{
		{"delete", "delete", kmsg.IncrementalAlterConfigOpAppend, "delete"},
		{"delete", "compact", kmsg.IncrementalAlterConfigOpAppend, "delete,compact"},
		{"", " a , b ", kmsg.IncrementalAlterConfigOpAppend, "a,b"},
		{"delete", "delete", kmsg.IncrementalAlterConfigOpSubtract, ""},
		{"a,b,a", "a", kmsg.IncrementalAlterConfigOpSubtract, "b"},
		{"a,b", "c", kmsg.IncrementalAlterConfigOpSubtract, "a,b"},
	} {
		if got := listOp(tc.current, tc.value, tc.op); got != tc.want {
			t.Errorf("listOp(%q, %q, %d) = %q, want %q", tc.current, tc.value, tc.op, got, tc.want)
		}
	}
}

// TestDescribeClusterFlexible: v0 is flexible; its request header (v2) and
// response header (tag byte) go through the server's framing.
func TestDescribeClusterFlexible(t *testing.T) {
	resp := serveFixed(t, kmsg.NewPtrDescribeClusterRequest(), 0).(*kmsg.DescribeClusterResponse)
	if resp.ErrorCode != 0 || resp.ClusterID != "fixed" || resp.ControllerID != 1 || len(resp.Brokers) != 1 ||
		resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port != 9092 {
		t.Errorf("DescribeCluster: %+v", resp)
	}
}

// adminSeeds are one request of each admin API, for FuzzAdminRequestPath.
func adminSeeds() []kmsg.Request {
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"topic", "nope", "topic"}
	grow := kmsg.NewPtrCreatePartitionsRequest()
	grow.TimeoutMillis = 1 // fixedCluster's partition 1 never gets a leader
	for _, n := range []string{"topic", "nope"} {
		t := kmsg.NewCreatePartitionsRequestTopic()
		t.Topic, t.Count = n, 3
		grow.Topics = append(grow.Topics, t)
	}
	trim := kmsg.NewPtrDeleteRecordsRequest()
	tt := kmsg.NewDeleteRecordsRequestTopic()
	tt.Topic = "topic"
	for _, o := range []int64{-1, 0, 5} {
		p := kmsg.NewDeleteRecordsRequestTopicPartition()
		p.Offset = o
		tt.Partitions = append(tt.Partitions, p)
	}
	trim.Topics = append(trim.Topics, tt)
	desc := kmsg.NewPtrDescribeConfigsRequest()
	desc.IncludeSynonyms = true
	for _, r := range []struct {
		kind kmsg.ConfigResourceType
		name string
	}{{kmsg.ConfigResourceTypeTopic, "topic"}, {kmsg.ConfigResourceTypeBroker, "1"}, {kmsg.ConfigResourceTypeBroker, ""}} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.kind, r.name
		desc.Resources = append(desc.Resources, rr)
	}
	alter := kmsg.NewPtrAlterConfigsRequest()
	ar := kmsg.NewAlterConfigsRequestResource()
	ar.ResourceType, ar.ResourceName = kmsg.ConfigResourceTypeTopic, "topic"
	ac := kmsg.NewAlterConfigsRequestResourceConfig()
	ac.Name, ac.Value = controller.ConfigRetentionMs, kmsg.StringPtr("5")
	ar.Configs = append(ar.Configs, ac)
	alter.Resources = append(alter.Resources, ar)
	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ir := kmsg.NewIncrementalAlterConfigsRequestResource()
	ir.ResourceType, ir.ResourceName = kmsg.ConfigResourceTypeTopic, "topic"
	for op := kmsg.IncrementalAlterConfigOp(0); op <= 3; op++ {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = controller.ConfigCleanupPolicy, op, kmsg.StringPtr("delete")
		ir.Configs = append(ir.Configs, c)
	}
	inc.Resources = append(inc.Resources, ir)
	return []kmsg.Request{del, grow, trim, desc, alter, inc, kmsg.NewPtrDescribeClusterRequest()}
}

// TestAdminHandlersEveryVersion answers every admin request at every
// advertised version, and FuzzAdminRequestPath mutates them: nothing may
// panic, and an accepted frame is answered with its correlation id.
func TestAdminHandlersEveryVersion(t *testing.T) {
	for _, req := range adminSeeds() {
		a := adminAPI(t, req.Key())
		for v := a.minVersion; v <= a.maxVersion; v++ {
			serveFixed(t, req, v)
		}
	}
}

func adminAPI(t testing.TB, key int16) api {
	for _, a := range adminAPIs {
		if a.key == key {
			return a
		}
	}
	t.Fatalf("no admin api with key %d", key)
	return api{}
}

func FuzzAdminRequestPath(f *testing.F) {
	for _, req := range adminSeeds() {
		a := adminAPI(f, req.Key())
		for v := a.minVersion; v <= a.maxVersion; v++ {
			f.Add(frameRequest(req, v, int32(v))[4:])
		}
	}
	reg, err := newRegistry(supportedAPIs)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := parseRequest(frame, reg)
		if err != nil {
			var pe *protocolError
			if !errors.As(err, &pe) {
				t.Fatalf("parse error %v is not a protocol error", err)
			}
			return
		}
		r.rc.cluster = fixedCluster{}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		out, err := serveFlat(ctx, r)
		cancel()
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
		if out == nil {
			return // acks=0 produce
		}
		if corr := int32(binary.BigEndian.Uint32(out[4:])); corr != r.rc.CorrelationID {
			t.Fatalf("response correlation id %d, want %d", corr, r.rc.CorrelationID)
		}
	})
}
