package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups (key 16), versions 0-2: the non-flexible versions (v3 is the
// first flexible one; state filters come with v4).
//
// Lists the groups this broker coordinates (the groups of every
// coordinator shard whose Raft leader it hosts), as Kafka's ListGroups is
// per broker: admin clients ask every broker and merge. A coordinator
// shard that cannot be read makes the answer COORDINATOR_NOT_AVAILABLE.
var listGroupsAPI = api{
	key:          16,
	name:         "ListGroups",
	minVersion:   0,
	maxVersion:   2,
	handle:       handleListGroups,
	needsCluster: true,
}

func handleListGroups(_ context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	if _, ok := req.(*kmsg.ListGroupsRequest); !ok {
		return nil, fmt.Errorf("ListGroups handler got %T", req)
	}
	resp := kmsg.NewPtrListGroupsResponse()
	gs, err := rc.cluster.ListGroups()
	if err != nil {
		resp.ErrorCode = int16(groupErrorCode(err))
		return resp, nil
	}
	for _, g := range gs {
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType = g.Group, g.ProtocolType
		resp.Groups = append(resp.Groups, lg)
	}
	return resp, nil
}
