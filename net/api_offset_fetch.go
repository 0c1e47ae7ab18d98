package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/group"
)

// OffsetFetch (key 9), versions 1-5: the non-flexible versions from the
// first that reads offsets from the coordinator (v0 read ZooKeeper).
//
// A null topic list (v2+) returns every offset the group has committed.
// A partition without a committed offset is offset -1 with no error (and
// leader epoch -1, v5), as is every partition of an unknown group. A
// group-level error (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
// INVALID_GROUP_ID) is the top-level ErrorCode from v2 and is repeated on
// every partition (v1 has no top-level code). The read is linearizable.
var offsetFetchAPI = api{
	key:          9,
	name:         "OffsetFetch",
	minVersion:   1,
	maxVersion:   5,
	handle:       handleOffsetFetch,
	needsCluster: true,
}

func handleOffsetFetch(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.OffsetFetchRequest)
	if !ok {
		return nil, fmt.Errorf("OffsetFetch handler got %T", req)
	}
	var tps []group.TopicPartition
	if r.Topics != nil || rc.Version < 2 {
		tps = []group.TopicPartition{}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	resp := kmsg.NewPtrOffsetFetchResponse()
	offsets, err := rc.cluster.FetchOffsets(ctx, r.Group, tps)
	if err != nil {
		code := int16(groupErrorCode(err))
		resp.ErrorCode = code
		for _, t := range r.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	// Offsets come back in request order (or sorted by topic): group runs
	// of one topic into one response topic.
	for _, o := range offsets {
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != o.Topic {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = o.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = o.Partition, o.Offset, o.LeaderEpoch
		rp.Metadata = kmsg.StringPtr(o.Metadata)
		rt := &resp.Topics[len(resp.Topics)-1]
		rt.Partitions = append(rt.Partitions, rp)
	}
	return resp, nil
}
