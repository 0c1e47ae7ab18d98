package net

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/partition"
)

// wideAPIs registers every API key kmsg knows, at every version kmsg knows,
// with a handler that answers the empty response: it runs bytes from the
// fuzzer through every kmsg request decoder that a later handler may use.
func wideAPIs() []api {
	apis := []api{apiVersionsAPI}
	for key := int16(0); key < 1024; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil || key == apiVersionsKey {
			continue
		}
		apis = append(apis, api{key: key, name: "wide", minVersion: 0, maxVersion: req.MaxVersion(),
			handle: func(_ context.Context, _ *requestContext, req kmsg.Request) (kmsg.Response, error) {
				return req.ResponseKind(), nil
			}})
	}
	return apis
}

// fixedCluster is a broker that never changes: one broker, one topic with
// a leaderless partition, creations accepted but not applied.
type fixedCluster struct{}

func (fixedCluster) Metadata() (ClusterMetadata, error) {
	return ClusterMetadata{ClusterID: "fixed", ControllerID: 1,
		Brokers: []BrokerMetadata{{ID: 1, Host: "127.0.0.1", Port: 9092}},
		Topics: []TopicMetadata{{Name: "topic", Partitions: []PartitionMetadata{
			{Index: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}},
			{Index: 1, Leader: -1, Replicas: []int32{1}, ISR: []int32{1}},
		}}},
	}, nil
}

func (fixedCluster) CreateTopic(_ context.Context, spec TopicSpec) (CreatedTopic, error) {
	if spec.Name == "topic" {
		return CreatedTopic{}, core.Errorf(core.TopicAlreadyExists, "topic %q already exists", spec.Name)
	}
	return CreatedTopic{ID: [16]byte{1}, Partitions: max(spec.Partitions, 1), ReplicationFactor: max(spec.ReplicationFactor, 1)}, nil
}

func (fixedCluster) AutoCreateTopics() bool { return true }

func (fixedCluster) AllocateProducerID(context.Context) (int64, error) { return 1000, nil }

func (fixedCluster) Produce(_ context.Context, topic string, p int32, _ []byte) (partition.ProduceResult, error) {
	if topic != "topic" || p < 0 || p > 1 {
		return partition.ProduceResult{}, core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	if p == 1 {
		return partition.ProduceResult{}, core.Errorf(core.NotLeaderOrFollower, "leaderless")
	}
	return partition.ProduceResult{BaseOffset: 0, LogAppendTimeMs: -1}, nil
}

// never is a partition that never changes: fetches long-poll until their
// deadline.
var never = make(chan struct{})

func (fixedCluster) Fetch(topic string, p int32, offset int64, _ int32, _ []byte) (partition.FetchResult, <-chan struct{}, error) {
	if topic != "topic" || p < 0 || p > 1 {
		return partition.FetchResult{}, nil, core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	res := partition.FetchResult{}
	if offset != 0 {
		res.Err = core.Errorf(core.OffsetOutOfRange, "empty log")
	}
	return res, never, nil
}

func (fixedCluster) ListOffsets(topic string, p int32, _ int64) (partition.ListOffsetsResult, error) {
	if topic != "topic" || p < 0 || p > 1 {
		return partition.ListOffsetsResult{}, core.Errorf(core.UnknownTopicOrPartition, "unknown")
	}
	return partition.ListOffsetsResult{Offset: 0, TimestampMs: -1}, nil
}

// FuzzRequestPath feeds arbitrary request frames (without the size prefix)
// through header parsing, kmsg decoding, dispatch and response encoding, as
// a connection does. Nothing may panic; a refused frame is a *protocolError;
// an accepted one is answered with a well-formed frame carrying its
// correlation id.
func FuzzRequestPath(f *testing.F) {
	for v := int16(0); v <= 5; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.ClientSoftwareName, req.ClientSoftwareVersion = "fuzz", "1"
		f.Add(frameRequest(req, v, int32(v))[4:])
	}
	f.Add(metadataRequest("topic", 9)[4:])
	meta := kmsg.NewPtrMetadataRequest()
	meta.AllowAutoTopicCreation = true
	for _, name := range []string{"topic", "new", "bad name"} {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(name)
		meta.Topics = append(meta.Topics, t)
	}
	for v := int16(0); v <= 7; v++ {
		f.Add(frameRequest(meta, v, 30+int32(v))[4:])
	}
	create := kmsg.NewPtrCreateTopicsRequest()
	create.TimeoutMillis = 1
	for _, name := range []string{"topic", "new", "bad name"} {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = name, -1, -1
		create.Topics = append(create.Topics, t)
	}
	for v := int16(0); v <= 4; v++ {
		f.Add(frameRequest(create, v, 20+int32(v))[4:])
	}
	produce := kmsg.NewPtrProduceRequest()
	f.Add(frameRequest(produce, 7, 10)[4:])

	narrow, err := newRegistry(supportedAPIs)
	if err != nil {
		f.Fatal(err)
	}
	wide, err := newRegistry(wideAPIs())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, reg := range []*registry{narrow, wide} {
			r, err := parseRequest(frame, reg)
			if err != nil {
				var pe *protocolError
				if !errors.As(err, &pe) {
					t.Fatalf("parse error %v is not a protocol error", err)
				}
				continue
			}
			// A short deadline: CreateTopics waits up to the request's
			// timeout for leaders that fixedCluster never elects.
			r.rc.cluster = fixedCluster{}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			out, err := serveFlat(ctx, r)
			cancel()
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
			if out == nil && r.rc.Key == 0 {
				continue // acks=0 produce: no response
			}
			if len(out) < 8 || int(binary.BigEndian.Uint32(out)) != len(out)-4 {
				t.Fatalf("response frame of %d bytes has size prefix %d", len(out), binary.BigEndian.Uint32(out))
			}
			if corr := int32(binary.BigEndian.Uint32(out[4:])); corr != r.rc.CorrelationID {
				t.Fatalf("response correlation id %d, want %d", corr, r.rc.CorrelationID)
			}
		}
	})
}

// serveFlat is serve with the frame's segments joined into one slice (nil
// when there is no response).
func serveFlat(ctx context.Context, r *request) ([]byte, error) {
	segs, err := serve(ctx, r)
	if segs == nil {
		return nil, err
	}
	return bytes.Join(segs, nil), err
}
