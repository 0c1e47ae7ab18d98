package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions (key 18), versions 0-3.
//
// v0 is what kafka-python sends, v2 kafkajs, v3 librdkafka and sarama. v3 is
// the first flexible version; its response header still has no tag byte (see
// encodeResponse). franz-go starts at v5: a version above 3 is not decoded
// but answered by apiVersionsFallback, and the client retries at 3.
var apiVersionsAPI = api{
	key:        18,
	name:       "ApiVersions",
	minVersion: 0,
	maxVersion: 3,
	handle:     handleApiVersions,
}

// errUnsupportedVersion is Kafka's UNSUPPORTED_VERSION.
const errUnsupportedVersion int16 = 35

func handleApiVersions(_ context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	if _, ok := req.(*kmsg.ApiVersionsRequest); !ok {
		return nil, fmt.Errorf("ApiVersions handler got %T", req)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ApiKeys = rc.registry.apiVersionsKeys()
	// ThrottleMillis stays 0; no features, so no tagged fields.
	return resp, nil
}

// apiVersionsFallback answers an ApiVersions request at a version above the
// advertised maximum, without decoding its body (KIP-511): a v0 response with
// UNSUPPORTED_VERSION and the full table, so the client can pick a version.
func apiVersionsFallback(r *registry) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = errUnsupportedVersion
	resp.ApiKeys = r.apiVersionsKeys()
	return resp
}
