package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets (key 2), versions 0-3: the non-flexible versions.
//
// Per partition, at the leader only (else NOT_LEADER_OR_FOLLOWER; an
// unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION): timestamp -2
// is the log start offset, -1 the high watermark (also for READ_COMMITTED:
// the last stable offset equals it), any other timestamp >= 0 the first
// batch whose max timestamp reaches it (batch granularity, as core
// documents; no match: offset -1, timestamp -1). Other negative timestamps
// are INVALID_REQUEST.
//
// v0 asks for up to MaxNumOffsets offsets in OldStyleOffsets: it is
// answered with the one offset above (none when there is no match).
var listOffsetsAPI = api{
	key:          2,
	name:         "ListOffsets",
	minVersion:   0,
	maxVersion:   3,
	handle:       handleListOffsets,
	needsCluster: true,
}

func handleListOffsets(_ context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.ListOffsetsRequest)
	if !ok {
		return nil, fmt.Errorf("ListOffsets handler got %T", req)
	}
	resp := kmsg.NewPtrListOffsetsResponse()
	for _, rt := range r.Topics {
		out := kmsg.NewListOffsetsResponseTopic()
		out.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewListOffsetsResponseTopicPartition()
			op.Partition = rp.Partition
			op.Timestamp, op.Offset = -1, -1
			res, err := rc.cluster.ListOffsets(rt.Topic, rp.Partition, rp.Timestamp)
			switch {
			case err != nil:
				op.ErrorCode = int16(readErrorCode(err))
			case res.Err != nil:
				op.ErrorCode = int16(res.Err.Code)
			default:
				op.Timestamp, op.Offset = res.TimestampMs, res.Offset
				if rc.Version == 0 {
					op.OldStyleOffsets = []int64{}
					if res.Offset >= 0 {
						op.OldStyleOffsets = append(op.OldStyleOffsets, res.Offset)
					}
				}
			}
			out.Partitions = append(out.Partitions, op)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp, nil
}
