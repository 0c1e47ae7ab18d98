package net

import (
	"context"
	"fmt"
	gonet "net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/group"
)

// JoinGroup (key 11), versions 0-5: the non-flexible versions.
//
// The request becomes a core/group Join proposed to the group's
// coordinator shard (NOT_COORDINATOR at any other broker). A JoinGroup the
// coordinator parks is held until the join phase completes (every member
// rejoined, or the rebalance timeout passed), as Kafka holds it. v0 has no
// rebalance timeout: the session timeout serves as both, as in Kafka. v4+
// new members first get MEMBER_ID_REQUIRED (79) with their id. Static
// membership (v5 InstanceID) is refused with UNSUPPORTED_VERSION (35).
// The client host is the connection's remote IP, written "/ip" as Kafka
// does.
var joinGroupAPI = api{
	key:          11,
	name:         "JoinGroup",
	minVersion:   0,
	maxVersion:   5,
	handle:       handleJoinGroup,
	needsCluster: true,
}

func handleJoinGroup(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.JoinGroupRequest)
	if !ok {
		return nil, fmt.Errorf("JoinGroup handler got %T", req)
	}
	cmd := group.Join{
		Group: r.Group, MemberID: r.MemberID, GroupInstanceID: r.InstanceID,
		ClientID: clientID(rc), ClientHost: clientHost(rc),
		SessionTimeoutMs: r.SessionTimeoutMillis, RebalanceTimeoutMs: r.RebalanceTimeoutMillis,
		ProtocolType: r.ProtocolType, RequireKnownMemberID: rc.Version >= 4,
	}
	if rc.Version == 0 {
		cmd.RebalanceTimeoutMs = r.SessionTimeoutMillis
	}
	for _, p := range r.Protocols {
		cmd.Protocols = append(cmd.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Generation = -1
	resp.MemberID = r.MemberID
	res, err := rc.cluster.JoinGroup(ctx, cmd)
	if err != nil {
		resp.ErrorCode = int16(groupErrorCode(err))
		return resp, nil
	}
	resp.ErrorCode = groupResultCode(res.Err)
	if res.MemberID != "" {
		resp.MemberID = res.MemberID
	}
	if res.Err != nil {
		return resp, nil
	}
	resp.Generation = res.Generation
	resp.Protocol = kmsg.StringPtr(res.Protocol)
	resp.LeaderID = res.LeaderID
	for _, m := range res.Members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID, jm.ProtocolMetadata = m.MemberID, m.Metadata
		resp.Members = append(resp.Members, jm)
	}
	return resp, nil
}

// clientID is the request header's client id ("" when null).
func clientID(rc *requestContext) string {
	if rc.ClientID == nil {
		return ""
	}
	return *rc.ClientID
}

// clientHost is the remote address's host as Kafka reports it ("/ip").
func clientHost(rc *requestContext) string {
	host, _, err := gonet.SplitHostPort(rc.RemoteAddr)
	if err != nil {
		host = rc.RemoteAddr
	}
	return "/" + host
}
