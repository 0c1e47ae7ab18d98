package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/group"
)

// SyncGroup (key 14), versions 0-3: the non-flexible versions.
//
// The request becomes a core/group Sync proposed to the group's
// coordinator (NOT_COORDINATOR elsewhere). The leader's assignments are
// stored and answered to every member; a follower's SyncGroup is held
// until the leader's arrives (or the rebalance timeout passes). v3's
// InstanceID is ignored: static members cannot join (JoinGroup refuses
// them).
var syncGroupAPI = api{
	key:          14,
	name:         "SyncGroup",
	minVersion:   0,
	maxVersion:   3,
	handle:       handleSyncGroup,
	needsCluster: true,
}

func handleSyncGroup(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.SyncGroupRequest)
	if !ok {
		return nil, fmt.Errorf("SyncGroup handler got %T", req)
	}
	cmd := group.Sync{Group: r.Group, Generation: r.Generation, MemberID: r.MemberID}
	for _, a := range r.GroupAssignment {
		cmd.Assignments = append(cmd.Assignments, group.MemberAssignment{MemberID: a.MemberID, Assignment: a.MemberAssignment})
	}
	resp := kmsg.NewPtrSyncGroupResponse()
	res, err := rc.cluster.SyncGroup(ctx, cmd)
	if err != nil {
		resp.ErrorCode = int16(groupErrorCode(err))
		return resp, nil
	}
	resp.ErrorCode = groupResultCode(res.Err)
	if res.Err == nil {
		resp.MemberAssignment = res.Assignment
	}
	return resp, nil
}
