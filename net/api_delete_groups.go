package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
)

// DeleteGroups (key 42), versions 0-1: the non-flexible versions.
//
// Per group, at its coordinator (else NOT_COORDINATOR in its entry): a
// group with members is NON_EMPTY_GROUP (68), an unknown one
// GROUP_ID_NOT_FOUND (69); an Empty group is deleted with its committed
// offsets.
var deleteGroupsAPI = api{
	key:          42,
	name:         "DeleteGroups",
	minVersion:   0,
	maxVersion:   1,
	handle:       handleDeleteGroups,
	needsCluster: true,
}

func handleDeleteGroups(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.DeleteGroupsRequest)
	if !ok {
		return nil, fmt.Errorf("DeleteGroups handler got %T", req)
	}
	resp := kmsg.NewPtrDeleteGroupsResponse()
	res, err := rc.cluster.DeleteGroups(ctx, r.Groups)
	for i, id := range r.Groups {
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group = id
		switch {
		case err != nil:
			g.ErrorCode = int16(groupErrorCode(err))
		case i < len(res):
			g.ErrorCode = groupResultCode(res[i].Err)
		default:
			g.ErrorCode = int16(core.CoordinatorNotAvailable)
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
