package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
)

// DeleteTopics (key 20), versions 0-3: the non-flexible versions, which
// name topics (TopicNames; ids come with v6) and carry no error message
// (v5+).
//
// Each topic is deleted through the controller; the answer comes once the
// deletion is committed and applied on this broker, as KRaft answers at
// commit. The partitions' replicas and data are removed by every broker's
// reconciler shortly after; a topic created again under the same name gets
// new partitions (new Raft shards) that start at offset 0. A topic named
// twice in one request is INVALID_REQUEST for every copy, an unknown topic
// UNKNOWN_TOPIC_OR_PARTITION. Proposals are bounded by TimeoutMillis (at
// least minAdminTimeout); running out is REQUEST_TIMED_OUT.
var deleteTopicsAPI = api{
	key:          20,
	name:         "DeleteTopics",
	minVersion:   0,
	maxVersion:   3,
	handle:       handleDeleteTopics,
	needsCluster: true,
}

func handleDeleteTopics(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.DeleteTopicsRequest)
	if !ok {
		return nil, fmt.Errorf("DeleteTopics handler got %T", req)
	}
	_, proposeWithin := adminDeadline(r.TimeoutMillis)
	ctx, cancel := context.WithTimeout(ctx, proposeWithin)
	defer cancel()

	count := make(map[string]int, len(r.TopicNames))
	for _, name := range r.TopicNames {
		count[name]++
	}
	resp := kmsg.NewPtrDeleteTopicsResponse()
	for _, name := range r.TopicNames {
		out := kmsg.NewDeleteTopicsResponseTopic()
		out.Topic = kmsg.StringPtr(name)
		var err error
		if count[name] > 1 {
			err = core.Errorf(core.InvalidRequest, "topic %s appears more than once in the request", quoteName(name))
		} else {
			out.TopicID, err = rc.cluster.DeleteTopic(ctx, name)
		}
		code, msg := adminError(err)
		out.ErrorCode = int16(code)
		out.ErrorMessage = messagePtr(code, msg) // sent from v5 only
		resp.Topics = append(resp.Topics, out)
	}
	return resp, nil
}
