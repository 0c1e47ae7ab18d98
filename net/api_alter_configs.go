package net

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
)

// AlterConfigs (key 33), versions 0-1: the non-flexible versions.
//
// Kafka's legacy, non-incremental alter: a TOPIC resource's entries become
// the topic's whole set of overrides, and every config the request does not
// name goes back to its default (controller.ReplaceConfigOps). The
// controller checks every key and value (INVALID_CONFIG: unknown key, bad
// or unsupported value; INVALID_REQUEST: a key named twice;
// UNKNOWN_TOPIC_OR_PARTITION) and applies all or nothing. A null value is
// INVALID_REQUEST. ValidateOnly checks and changes nothing.
//
// BROKER resources: Tidemark has no dynamic broker configs, so any entry is
// INVALID_CONFIG (read-only); an empty list, which resets a broker's
// dynamic configs in Kafka, succeeds and changes nothing. A broker resource
// must name this broker or be empty (cluster-wide), else INVALID_REQUEST.
// Other resource types, and a resource named twice in one request:
// INVALID_REQUEST. Errors are per resource, with a message. The request has
// no timeout: proposals are bounded by defaultAdminTimeout.
var alterConfigsAPI = api{
	key:          33,
	name:         "AlterConfigs",
	minVersion:   0,
	maxVersion:   1,
	handle:       handleAlterConfigs,
	needsCluster: true,
}

func handleAlterConfigs(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.AlterConfigsRequest)
	if !ok {
		return nil, fmt.Errorf("AlterConfigs handler got %T", req)
	}
	ctx, cancel := context.WithTimeout(ctx, defaultAdminTimeout)
	defer cancel()

	count := make(map[configResource]int, len(r.Resources))
	for _, res := range r.Resources {
		count[configResource{res.ResourceType, res.ResourceName}]++
	}
	resp := kmsg.NewPtrAlterConfigsResponse()
	for _, res := range r.Resources {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		var err error
		if count[configResource{res.ResourceType, res.ResourceName}] > 1 {
			err = duplicateResource(res.ResourceType, res.ResourceName)
		} else {
			keys := make([]string, 0, len(res.Configs))
			entries := make([]controller.ConfigEntry, 0, len(res.Configs))
			for _, c := range res.Configs {
				keys = append(keys, c.Name)
				if c.Value == nil && err == nil {
					err = core.Errorf(core.InvalidRequest, "null value not supported for config %s", quoteName(c.Name))
				}
				if c.Value != nil {
					entries = append(entries, controller.ConfigEntry{Key: c.Name, Value: *c.Value})
				}
			}
			if err == nil {
				err = alterResource(ctx, rc.cluster, res.ResourceType, res.ResourceName, keys,
					func() ([]controller.ConfigOp, error) { return controller.ReplaceConfigOps(entries), nil }, r.ValidateOnly)
			}
		}
		code, msg := adminError(err)
		out.ErrorCode, out.ErrorMessage = int16(code), messagePtr(code, msg)
		resp.Resources = append(resp.Resources, out)
	}
	return resp, nil
}

// configResource identifies a resource of an alter request, to find
// resources named twice.
type configResource struct {
	kind kmsg.ConfigResourceType
	name string
}

func duplicateResource(kind kmsg.ConfigResourceType, name string) error {
	return core.Errorf(core.InvalidRequest, "resource %s (type %d) appears more than once in the request", quoteName(name), kind)
}

// alterResource applies an alter request's changes to one resource: ops()
// for a topic (called only once the topic name is legal; its error is
// the answer), a refusal for
// any broker config (keys lists them), INVALID_REQUEST for other types.
func alterResource(ctx context.Context, cluster Cluster, kind kmsg.ConfigResourceType, name string, keys []string,
	ops func() ([]controller.ConfigOp, error), validateOnly bool) error {
	switch kind {
	case kmsg.ConfigResourceTypeTopic:
		if err := controller.ValidateTopicName(name); err != nil {
			return err
		}
		o, err := ops()
		if err != nil {
			return err
		}
		return cluster.AlterTopicConfigs(ctx, name, o, validateOnly)
	case kmsg.ConfigResourceTypeBroker:
		if _, err := describedBrokerConfigs(cluster, name); err != nil {
			return err // not this broker
		}
		if len(keys) > 0 {
			return core.Errorf(core.InvalidConfig,
				"broker config %s is read-only: Tidemark has no dynamic broker configs; set it with the broker's flags and restart",
				quoteName(keys[0]))
		}
		return nil
	default:
		return core.Errorf(core.InvalidRequest, "resource type %d is not supported: only topics (2) and brokers (4)", kind)
	}
}
