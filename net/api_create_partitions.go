package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
)

// CreatePartitions (key 37), versions 0-1: the non-flexible versions.
//
// Each topic grows to Count partitions through the controller, which
// answers INVALID_PARTITIONS for a count not above the current one (or over
// its limits), UNKNOWN_TOPIC_OR_PARTITION for no such topic, and places the
// new partitions with the topic's replication factor. Manual assignment is
// not supported: INVALID_REQUEST with a message saying so. A topic named
// twice is INVALID_REQUEST for every copy. ValidateOnly checks everything
// and changes nothing. Every error carries a message.
//
// Timing as CreateTopics: after the commit, the handler waits up to
// TimeoutMillis for the grown topics' partitions to have leaders, so that a
// client producing next finds them; proposals are bounded by TimeoutMillis
// (at least minAdminTimeout), and running out is REQUEST_TIMED_OUT.
var createPartitionsAPI = api{
	key:          37,
	name:         "CreatePartitions",
	minVersion:   0,
	maxVersion:   1,
	handle:       handleCreatePartitions,
	needsCluster: true,
}

func handleCreatePartitions(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.CreatePartitionsRequest)
	if !ok {
		return nil, fmt.Errorf("CreatePartitions handler got %T", req)
	}
	wait, proposeWithin := adminDeadline(r.TimeoutMillis)
	proposeCtx, cancel := context.WithTimeout(ctx, proposeWithin)
	defer cancel()

	count := make(map[string]int, len(r.Topics))
	for _, t := range r.Topics {
		count[t.Topic]++
	}
	resp := kmsg.NewPtrCreatePartitionsResponse()
	var grown []string
	for _, t := range r.Topics {
		var err error
		switch {
		case count[t.Topic] > 1:
			err = core.Errorf(core.InvalidRequest, "topic %s appears more than once in the request", quoteName(t.Topic))
		case len(t.Assignment) > 0:
			err = core.Errorf(core.InvalidRequest,
				"topic %s: manual replica assignment is not supported by this broker; give only the new partition count",
				quoteName(t.Topic))
		default:
			err = rc.cluster.CreatePartitions(proposeCtx, t.Topic, t.Count, r.ValidateOnly)
			if err == nil && !r.ValidateOnly {
				grown = append(grown, t.Topic)
			}
		}
		out := kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = t.Topic
		code, msg := adminError(err)
		out.ErrorCode = int16(code)
		out.ErrorMessage = messagePtr(code, msg)
		resp.Topics = append(resp.Topics, out)
	}
	if len(grown) > 0 && wait > 0 {
		waitForLeaders(ctx, rc.cluster, grown, wait)
	}
	return resp, nil
}
