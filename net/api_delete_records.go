package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
)

// DeleteRecords (key 21), versions 0-1: the non-flexible versions.
//
// Per partition, partition.DeleteRecords is proposed at the partition's
// leader: the log start offset moves to Offset (-1: the high watermark, as
// Kafka) and whole batches that end before it are deleted. The answer is
// the new log start offset (LowWatermark) once the command is committed and
// applied on the leader. Errors: UNKNOWN_TOPIC_OR_PARTITION,
// NOT_LEADER_OR_FOLLOWER (not the leader here; clients send each partition
// to its leader), OFFSET_OUT_OF_RANGE outside [log start, high watermark],
// REQUEST_TIMED_OUT when the proposal did not complete within TimeoutMillis
// (at least minAdminTimeout). LowWatermark is -1 on error. v0-1 carry no
// error message. Partitions are proposed one after the other.
var deleteRecordsAPI = api{
	key:          21,
	name:         "DeleteRecords",
	minVersion:   0,
	maxVersion:   1,
	handle:       handleDeleteRecords,
	needsCluster: true,
}

func handleDeleteRecords(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.DeleteRecordsRequest)
	if !ok {
		return nil, fmt.Errorf("DeleteRecords handler got %T", req)
	}
	_, proposeWithin := adminDeadline(r.TimeoutMillis)
	ctx, cancel := context.WithTimeout(ctx, proposeWithin)
	defer cancel()

	resp := kmsg.NewPtrDeleteRecordsResponse()
	for _, t := range r.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.LowWatermark = -1
			res, err := rc.cluster.DeleteRecords(ctx, t.Topic, p.Partition, p.Offset)
			if err == nil && res.Err != nil {
				err = res.Err
			}
			code, _ := adminError(err)
			rp.ErrorCode = int16(code)
			if code == core.None {
				rp.LowWatermark = res.LowWatermark
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
