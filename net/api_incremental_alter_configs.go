package net

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
)

// IncrementalAlterConfigs (key 44), version 0: the only non-flexible
// version.
//
// TOPIC resources: SET and DELETE go to the controller as they are; it
// checks every op (INVALID_CONFIG: unknown key, bad or unsupported value;
// INVALID_REQUEST: a key in two ops; UNKNOWN_TOPIC_OR_PARTITION) and applies
// all or none. APPEND and SUBTRACT are meaningful only on list configs
// (cleanup.policy): they are resolved here against the topic's current
// value into a SET of the resulting list, which the controller then
// validates like any SET (so appending "compact" is INVALID_CONFIG, and
// subtracting the last element leaves an empty, invalid list). On any other
// key they are INVALID_REQUEST, as Kafka answers. A null value for SET,
// APPEND or SUBTRACT and an unknown op are INVALID_REQUEST. The read and the
// proposal are not atomic: an APPEND racing another alter of the same key
// may lose that alter's change (the only list config has a single legal
// value today, so nothing can be lost).
//
// BROKER resources, other types, duplicates, ValidateOnly and timeouts: as
// AlterConfigs.
var incrementalAlterConfigsAPI = api{
	key:          44,
	name:         "IncrementalAlterConfigs",
	minVersion:   0,
	maxVersion:   0,
	handle:       handleIncrementalAlterConfigs,
	needsCluster: true,
}

func handleIncrementalAlterConfigs(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.IncrementalAlterConfigsRequest)
	if !ok {
		return nil, fmt.Errorf("IncrementalAlterConfigs handler got %T", req)
	}
	ctx, cancel := context.WithTimeout(ctx, defaultAdminTimeout)
	defer cancel()

	count := make(map[configResource]int, len(r.Resources))
	for _, res := range r.Resources {
		count[configResource{res.ResourceType, res.ResourceName}]++
	}
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	for _, res := range r.Resources {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		var err error
		if count[configResource{res.ResourceType, res.ResourceName}] > 1 {
			err = duplicateResource(res.ResourceType, res.ResourceName)
		} else {
			keys := make([]string, 0, len(res.Configs))
			for _, c := range res.Configs {
				keys = append(keys, c.Name)
			}
			err = alterResource(ctx, rc.cluster, res.ResourceType, res.ResourceName, keys, func() ([]controller.ConfigOp, error) {
				return incrementalOps(rc.cluster, res.ResourceName, res.Configs)
			}, r.ValidateOnly)
		}
		code, msg := adminError(err)
		out.ErrorCode, out.ErrorMessage = int16(code), messagePtr(code, msg)
		resp.Resources = append(resp.Resources, out)
	}
	return resp, nil
}

// incrementalOps translates a topic's ops into the controller's SET and
// DELETE, resolving APPEND and SUBTRACT against the current value.
func incrementalOps(cluster Cluster, topic string, configs []kmsg.IncrementalAlterConfigsRequestResourceConfig) ([]controller.ConfigOp, error) {
	ops := make([]controller.ConfigOp, 0, len(configs))
	var current []controller.ConfigValue // read once, on the first APPEND or SUBTRACT
	for _, c := range configs {
		op := c.Op
		if op != kmsg.IncrementalAlterConfigOpDelete && c.Value == nil {
			return nil, core.Errorf(core.InvalidRequest, "null value not supported for config %s", quoteName(c.Name))
		}
		switch op {
		case kmsg.IncrementalAlterConfigOpSet:
			ops = append(ops, controller.ConfigOp{Key: c.Name, Value: *c.Value, Op: controller.ConfigOpSet})
		case kmsg.IncrementalAlterConfigOpDelete:
			ops = append(ops, controller.ConfigOp{Key: c.Name, Op: controller.ConfigOpDelete})
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			spec, known := controller.TopicConfigSpec(c.Name)
			if !known {
				return nil, core.Errorf(core.InvalidConfig, "unknown topic config name: %s", quoteName(c.Name))
			}
			if spec.Type != controller.ConfigTypeList {
				return nil, core.Errorf(core.InvalidRequest, "config %s is not a list: APPEND and SUBTRACT apply to list configs only", c.Name)
			}
			if current == nil {
				var err error
				if current, err = cluster.TopicConfigs(topic); err != nil {
					return nil, err
				}
			}
			var now string
			for _, v := range current {
				if v.Key == c.Name {
					now = v.Value
				}
			}
			ops = append(ops, controller.ConfigOp{Key: c.Name, Value: listOp(now, *c.Value, op), Op: controller.ConfigOpSet})
		default:
			return nil, core.Errorf(core.InvalidRequest, "unknown config operation %d for config %s", op, quoteName(c.Name))
		}
	}
	return ops, nil
}

// listOp applies APPEND (add the elements not yet present) or SUBTRACT
// (remove every occurrence) of a comma-separated list to another, as
// Kafka's IncrementalAlterConfigs does.
func listOp(current, value string, op kmsg.IncrementalAlterConfigOp) string {
	split := func(s string) []string {
		var out []string
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out
	}
	list, arg := split(current), split(value)
	has := func(l []string, e string) bool {
		for _, x := range l {
			if x == e {
				return true
			}
		}
		return false
	}
	var out []string
	if op == kmsg.IncrementalAlterConfigOpAppend {
		out = list
		for _, e := range arg {
			if !has(out, e) {
				out = append(out, e)
			}
		}
	} else {
		for _, e := range list {
			if !has(arg, e) {
				out = append(out, e)
			}
		}
	}
	return strings.Join(out, ",")
}
