package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster (key 60), version 0. Every version is flexible (KIP-482):
// the request header's tagged fields are skipped and the response header
// carries an empty tag section (request.go).
//
// The answer is the Metadata view (Cluster.Metadata): every registered
// broker, the cluster id ("" before the cluster is bootstrapped) and the
// controller, always a listed broker. ClusterAuthorizedOperations is
// Kafka's "not provided" (INT32_MIN) even when asked for: Tidemark has no
// authorizer yet.
var describeClusterAPI = api{
	key:          60,
	name:         "DescribeCluster",
	minVersion:   0,
	maxVersion:   0,
	handle:       handleDescribeCluster,
	needsCluster: true,
}

func handleDescribeCluster(_ context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	if _, ok := req.(*kmsg.DescribeClusterRequest); !ok {
		return nil, fmt.Errorf("DescribeCluster handler got %T", req)
	}
	md, err := rc.cluster.Metadata()
	if err != nil {
		return nil, fmt.Errorf("read cluster metadata: %w", err)
	}
	resp := kmsg.NewPtrDescribeClusterResponse()
	resp.ClusterID = md.ClusterID
	resp.ControllerID = md.ControllerID
	for _, b := range md.Brokers {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port = b.ID, b.Host, b.Port
		if b.Rack != "" {
			rb.Rack = kmsg.StringPtr(b.Rack)
		}
		resp.Brokers = append(resp.Brokers, rb)
	}
	return resp, nil
}
