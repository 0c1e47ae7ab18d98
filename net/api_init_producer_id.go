package net

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
)

// InitProducerId (key 22), versions 0-1: the non-flexible versions.
//
// Only idempotent producers are served: a null TransactionalID gets a fresh
// producer id from the controller, with ProducerEpoch 0. Transactions are
// not supported: a non-null TransactionalID is answered INVALID_REQUEST (42)
// and logged. A controller that cannot be reached within
// initProducerIDTimeout is answered COORDINATOR_NOT_AVAILABLE (15), which
// clients retry; a rejection by the controller keeps its code.
var initProducerIDAPI = api{
	key:          22,
	name:         "InitProducerId",
	minVersion:   0,
	maxVersion:   1,
	handle:       handleInitProducerID,
	needsCluster: true,
}

// initProducerIDTimeout bounds the controller proposal.
const initProducerIDTimeout = 5 * time.Second

func handleInitProducerID(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.InitProducerIDRequest)
	if !ok {
		return nil, fmt.Errorf("InitProducerId handler got %T", req)
	}
	resp := kmsg.NewPtrInitProducerIDResponse()
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if r.TransactionalID != nil {
		log := rc.log
		if log == nil {
			log = slog.Default()
		}
		log.Warn("InitProducerId with a transactional id refused: transactions are not supported",
			"remote", rc.RemoteAddr, "transactional_id", *r.TransactionalID)
		resp.ErrorCode = int16(core.InvalidRequest)
		return resp, nil
	}
	proposeCtx, cancel := context.WithTimeout(ctx, initProducerIDTimeout)
	defer cancel()
	id, err := rc.cluster.AllocateProducerID(proposeCtx)
	if err != nil {
		var ke *core.Error
		if errors.As(err, &ke) {
			resp.ErrorCode = int16(ke.Code)
		} else {
			resp.ErrorCode = int16(core.CoordinatorNotAvailable)
		}
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
