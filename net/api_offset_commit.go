package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/group"
)

// OffsetCommit (key 8), versions 2-7: the non-flexible versions from the
// first with a retention time (kafka-python's v2).
//
// Generation -1 with an empty member id is a standalone commit (a client
// that assigns partitions itself); otherwise the member must belong to the
// group's current generation (core/group's rules). A topic or partition
// that does not exist is UNKNOWN_TOPIC_OR_PARTITION (3), as Kafka answers.
// The per-request retention time (v2-v4) is ignored: offsets expire by the
// broker's retention (docs/core-group.md). Leader epochs (v6+) are stored
// as sent. v7's InstanceID is ignored: static members cannot join.
// Proposed to the group's coordinator (NOT_COORDINATOR elsewhere, on every
// partition).
var offsetCommitAPI = api{
	key:          8,
	name:         "OffsetCommit",
	minVersion:   2,
	maxVersion:   7,
	handle:       handleOffsetCommit,
	needsCluster: true,
}

func handleOffsetCommit(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.OffsetCommitRequest)
	if !ok {
		return nil, fmt.Errorf("OffsetCommit handler got %T", req)
	}
	cmd := group.CommitOffsets{Group: r.Group, Generation: r.Generation, MemberID: r.MemberID}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			o := group.OffsetCommit{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: -1}
			if rc.Version >= 6 {
				o.LeaderEpoch = p.LeaderEpoch
			}
			if p.Metadata != nil {
				o.Metadata = *p.Metadata
			}
			cmd.Offsets = append(cmd.Offsets, o)
		}
	}
	res, err := rc.cluster.CommitOffsets(ctx, cmd)
	resp := kmsg.NewPtrOffsetCommitResponse()
	i := 0
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			switch {
			case err != nil:
				rp.ErrorCode = int16(groupErrorCode(err))
			case i < len(res.Partitions):
				rp.ErrorCode = groupResultCode(res.Partitions[i].Err)
			default:
				return nil, fmt.Errorf("OffsetCommit: %d results for %d offsets", len(res.Partitions), len(cmd.Offsets))
			}
			i++
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
