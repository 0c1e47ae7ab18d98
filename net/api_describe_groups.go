package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups (key 15), versions 0-4: the non-flexible versions.
//
// Per group, at its coordinator (else NOT_COORDINATOR in that group's
// entry): state (Kafka's names: Empty, PreparingRebalance,
// CompletingRebalance, Stable, Dead), protocol type, the chosen protocol
// and each member's metadata and assignment (only when Stable, as Kafka),
// client id and host. A group the coordinator does not hold is Dead with
// no error. Authorized operations (v3+) are not computed: -2^31, Kafka's
// "not requested" value. v4 InstanceID is null: static members cannot
// join.
var describeGroupsAPI = api{
	key:          15,
	name:         "DescribeGroups",
	minVersion:   0,
	maxVersion:   4,
	handle:       handleDescribeGroups,
	needsCluster: true,
}

func handleDescribeGroups(_ context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.DescribeGroupsRequest)
	if !ok {
		return nil, fmt.Errorf("DescribeGroups handler got %T", req)
	}
	resp := kmsg.NewPtrDescribeGroupsResponse()
	for _, id := range r.Groups {
		g := kmsg.NewDescribeGroupsResponseGroup()
		g.Group = id
		d, err := rc.cluster.DescribeGroup(id)
		if err != nil {
			g.ErrorCode = int16(groupErrorCode(err))
			resp.Groups = append(resp.Groups, g)
			continue
		}
		g.State = d.State.String()
		g.ProtocolType, g.Protocol = d.ProtocolType, d.Protocol
		for _, m := range d.Members {
			gm := kmsg.NewDescribeGroupsResponseGroupMember()
			gm.MemberID, gm.ClientID, gm.ClientHost = m.MemberID, m.ClientID, m.ClientHost
			gm.ProtocolMetadata, gm.MemberAssignment = m.Metadata, m.Assignment
			g.Members = append(g.Members, gm)
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
