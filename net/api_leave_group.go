package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/group"
)

// LeaveGroup (key 13), versions 0-3: the non-flexible versions.
//
// v0-v2 name one member (its error is the top-level error); v3 names a
// batch, answered per member. A v3 member given only by its InstanceID
// (static membership, not supported) is UNKNOWN_MEMBER_ID (25). Proposed
// to the group's coordinator (NOT_COORDINATOR elsewhere).
var leaveGroupAPI = api{
	key:          13,
	name:         "LeaveGroup",
	minVersion:   0,
	maxVersion:   3,
	handle:       handleLeaveGroup,
	needsCluster: true,
}

func handleLeaveGroup(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.LeaveGroupRequest)
	if !ok {
		return nil, fmt.Errorf("LeaveGroup handler got %T", req)
	}
	resp := kmsg.NewPtrLeaveGroupResponse()
	cmd := group.Leave{Group: r.Group}
	if rc.Version < 3 {
		cmd.MemberIDs = []string{r.MemberID}
	} else {
		for _, m := range r.Members {
			cmd.MemberIDs = append(cmd.MemberIDs, m.MemberID)
		}
	}
	res, err := rc.cluster.LeaveGroup(ctx, cmd)
	if err != nil {
		resp.ErrorCode = int16(groupErrorCode(err))
		return resp, nil
	}
	if res.Err != nil {
		resp.ErrorCode = int16(res.Err.Code)
		return resp, nil
	}
	if rc.Version < 3 {
		if len(res.Members) == 1 {
			resp.ErrorCode = groupResultCode(res.Members[0].Err)
		}
		return resp, nil
	}
	for i, m := range r.Members {
		lm := kmsg.NewLeaveGroupResponseMember()
		lm.MemberID, lm.InstanceID = m.MemberID, m.InstanceID
		switch {
		case i >= len(res.Members):
			lm.ErrorCode = int16(core.UnknownMemberID)
		default:
			lm.ErrorCode = groupResultCode(res.Members[i].Err)
		}
		resp.Members = append(resp.Members, lm)
	}
	return resp, nil
}
