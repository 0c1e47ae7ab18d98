package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
)

// FindCoordinator (key 10), versions 0-2: the non-flexible versions (one
// key per request; v4's batches are flexible).
//
// A group key (CoordinatorType 0; v0 has no type) is answered with the
// broker hosting the Raft leader of the group's coordinator shard, or
// COORDINATOR_NOT_AVAILABLE (15) while there is none. Transaction
// coordinators (type 1) are not served: transactions are not supported,
// and the answer is COORDINATOR_NOT_AVAILABLE with a message saying so
// (v1+). Other types are INVALID_REQUEST (42).
var findCoordinatorAPI = api{
	key:          10,
	name:         "FindCoordinator",
	minVersion:   0,
	maxVersion:   2,
	handle:       handleFindCoordinator,
	needsCluster: true,
}

func handleFindCoordinator(_ context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.FindCoordinatorRequest)
	if !ok {
		return nil, fmt.Errorf("FindCoordinator handler got %T", req)
	}
	resp := kmsg.NewPtrFindCoordinatorResponse()
	resp.NodeID = -1
	fail := func(code core.Code, msg string) (kmsg.Response, error) {
		resp.ErrorCode = int16(code)
		if rc.Version >= 1 {
			resp.ErrorMessage = kmsg.StringPtr(msg)
		}
		return resp, nil
	}
	switch r.CoordinatorType {
	case 0:
	case 1:
		return fail(core.CoordinatorNotAvailable, "transactions are not supported")
	default:
		return fail(core.InvalidRequest, fmt.Sprintf("unknown coordinator type %d", r.CoordinatorType))
	}
	b, err := rc.cluster.FindGroupCoordinator(r.CoordinatorKey)
	if err != nil {
		return fail(groupErrorCode(err), err.Error())
	}
	resp.NodeID, resp.Host, resp.Port = b.ID, b.Host, b.Port
	return resp, nil
}
