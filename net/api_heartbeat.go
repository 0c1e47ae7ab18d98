package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/group"
)

// Heartbeat (key 12), versions 0-3: the non-flexible versions.
//
// Proposed to the group's coordinator (NOT_COORDINATOR elsewhere), so a
// heartbeat is a Raft entry: it keeps the member's session alive on every
// replica. REBALANCE_IN_PROGRESS tells a member to rejoin. v3's
// InstanceID is ignored (static members cannot join).
var heartbeatAPI = api{
	key:          12,
	name:         "Heartbeat",
	minVersion:   0,
	maxVersion:   3,
	handle:       handleHeartbeat,
	needsCluster: true,
}

func handleHeartbeat(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.HeartbeatRequest)
	if !ok {
		return nil, fmt.Errorf("Heartbeat handler got %T", req)
	}
	resp := kmsg.NewPtrHeartbeatResponse()
	res, err := rc.cluster.Heartbeat(ctx, group.Heartbeat{Group: r.Group, Generation: r.Generation, MemberID: r.MemberID})
	if err != nil {
		resp.ErrorCode = int16(groupErrorCode(err))
		return resp, nil
	}
	resp.ErrorCode = groupResultCode(res.Err)
	return resp, nil
}
