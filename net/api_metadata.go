package net

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
)

// Metadata (key 3), versions 0-7: the non-flexible versions.
//
// kafka-python probes v0, where an empty topic list means every topic; from
// v1 a null list means every topic and an empty one none. An unknown topic
// is UNKNOWN_TOPIC_OR_PARTITION unless auto-creation applies: the broker's
// AutoCreateTopics is on and the request allows it (AllowAutoTopicCreation
// from v4; v0-3 have no such field and always allow, as Kafka does). The
// topic is then created with the broker's defaults and answered with
// LEADER_NOT_AVAILABLE, which clients retry. A partition without a known
// leader is LEADER_NOT_AVAILABLE with leader -1. ControllerID is always a
// broker of the list. The leader epoch (v7) is the partition leader's Raft
// term, -1 when the answering broker does not know it (no local replica)
// or knows no leader.
var metadataAPI = api{
	key:          3,
	name:         "Metadata",
	minVersion:   0,
	maxVersion:   7,
	handle:       handleMetadata,
	needsCluster: true,
}

// autoCreateTimeout bounds one auto-creation through the controller.
const autoCreateTimeout = 5 * time.Second

func handleMetadata(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.MetadataRequest)
	if !ok {
		return nil, fmt.Errorf("Metadata handler got %T", req)
	}
	md, err := rc.cluster.Metadata()
	if err != nil {
		return nil, fmt.Errorf("read cluster metadata: %w", err)
	}
	resp := kmsg.NewPtrMetadataResponse()
	for _, b := range md.Brokers {
		rb := kmsg.NewMetadataResponseBroker()
		rb.NodeID, rb.Host, rb.Port = b.ID, b.Host, b.Port
		if b.Rack != "" {
			rack := b.Rack
			rb.Rack = &rack
		}
		resp.Brokers = append(resp.Brokers, rb)
	}
	if md.ClusterID != "" {
		id := md.ClusterID
		resp.ClusterID = &id
	}
	resp.ControllerID = md.ControllerID

	byName := make(map[string]TopicMetadata, len(md.Topics))
	for _, t := range md.Topics {
		byName[t.Name] = t
	}
	if r.Topics == nil || rc.Version == 0 && len(r.Topics) == 0 {
		for _, t := range md.Topics {
			resp.Topics = append(resp.Topics, metadataTopic(t))
		}
		return resp, nil
	}
	autoCreate := rc.cluster.AutoCreateTopics() && (rc.Version < 4 || r.AllowAutoTopicCreation)
	seen := make(map[string]bool, len(r.Topics))
	for _, rt := range r.Topics {
		if rt.Topic == nil { // only v10+ may send a null name; kmsg reads v0-7 names as non-null
			continue
		}
		name := *rt.Topic
		if seen[name] {
			continue // Kafka answers each topic once
		}
		seen[name] = true
		if t, ok := byName[name]; ok {
			resp.Topics = append(resp.Topics, metadataTopic(t))
			continue
		}
		out := kmsg.NewMetadataResponseTopic()
		out.Topic = &name
		switch {
		case controller.ValidateTopicName(name) != nil:
			out.ErrorCode = int16(core.InvalidTopicException)
		case !autoCreate:
			out.ErrorCode = int16(core.UnknownTopicOrPartition)
		default:
			out.ErrorCode = autoCreateTopic(ctx, rc.cluster, name)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp, nil
}

// autoCreateTopic creates name with the broker's defaults and returns the
// code to answer: LEADER_NOT_AVAILABLE once created (or created meanwhile
// by someone else, or when the controller could not be reached: retriable
// either way), or the controller's rejection.
func autoCreateTopic(ctx context.Context, cluster Cluster, name string) int16 {
	ctx, cancel := context.WithTimeout(ctx, autoCreateTimeout)
	defer cancel()
	_, err := cluster.CreateTopic(ctx, TopicSpec{Name: name, Partitions: -1, ReplicationFactor: -1})
	var ke *core.Error
	if errors.As(err, &ke) && ke.Code != core.TopicAlreadyExists {
		return int16(ke.Code)
	}
	return int16(core.LeaderNotAvailable)
}

func metadataTopic(t TopicMetadata) kmsg.MetadataResponseTopic {
	rt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	rt.Topic = &name
	rt.TopicID = t.ID
	for _, p := range t.Partitions {
		rp := kmsg.NewMetadataResponseTopicPartition()
		rp.Partition = p.Index
		rp.Leader, rp.LeaderEpoch = p.Leader, p.LeaderEpoch
		if p.Leader < 0 || p.LeaderEpoch < 0 {
			rp.LeaderEpoch = -1
		}
		if p.Leader < 0 {
			rp.Leader = -1
			rp.ErrorCode = int16(core.LeaderNotAvailable)
		}
		rp.Replicas = append([]int32{}, p.Replicas...)
		rp.ISR = append([]int32{}, p.ISR...)
		rp.OfflineReplicas = []int32{}
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

// quoteName quotes a name from a client for an error message, cut to a
// readable length.
func quoteName(name string) string {
	const max = 64
	if len(name) > max {
		return strconv.Quote(name[:max]) + "…"
	}
	return strconv.Quote(name)
}
