package net

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
)

// DescribeConfigs (key 32), versions 0-2: the non-flexible versions without
// documentation and config types (v3).
//
// TOPIC resources: every supported topic config with its effective value;
// Source (v1+) is DYNAMIC_TOPIC_CONFIG for a value set on the topic and
// DEFAULT_CONFIG for a default (v0: IsDefault). No topic config is read-only
// or sensitive. With IncludeSynonyms (v1+) a set value lists itself and then
// the default under the broker's name for it (retention.ms →
// log.retention.ms, as Kafka's broker synonyms). Unknown topic:
// UNKNOWN_TOPIC_OR_PARTITION; an illegal name: INVALID_TOPIC_EXCEPTION.
//
// BROKER resources: the resource named by this broker's id lists its
// settings (read-only, STATIC_BROKER_CONFIG: fixed by its flags at
// start-up) and the built-in topic defaults under their broker names
// (read-only, DEFAULT_CONFIG). The empty name (the cluster-wide dynamic
// defaults in Kafka) lists nothing: Tidemark has no dynamic broker configs.
// Another broker's id or a non-numeric name is INVALID_REQUEST, as Kafka
// (clients send each broker resource to that broker). Other resource types:
// INVALID_REQUEST.
//
// ConfigNames, when not null, keeps only the named configs (unknown names
// are left out). Errors are per resource, with a message.
var describeConfigsAPI = api{
	key:          32,
	name:         "DescribeConfigs",
	minVersion:   0,
	maxVersion:   2,
	handle:       handleDescribeConfigs,
	needsCluster: true,
}

// brokerSynonyms names, for each topic config, the broker config that
// supplies its default in Kafka. TestBrokerSynonymsCoverSpecs checks that
// every supported topic config has one.
var brokerSynonyms = map[string]string{
	controller.ConfigCleanupPolicy:        "log.cleanup.policy",
	controller.ConfigMaxMessageBytes:      "message.max.bytes",
	controller.ConfigMessageTimestampType: "log.message.timestamp.type",
	controller.ConfigMinInsyncReplicas:    "min.insync.replicas",
	controller.ConfigRetentionBytes:       "log.retention.bytes",
	controller.ConfigRetentionMs:          "log.retention.ms",
	controller.ConfigSegmentBytes:         "log.segment.bytes",
	controller.ConfigSegmentMs:            "log.roll.ms",
}

func handleDescribeConfigs(_ context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.DescribeConfigsRequest)
	if !ok {
		return nil, fmt.Errorf("DescribeConfigs handler got %T", req)
	}
	synonyms := rc.Version >= 1 && r.IncludeSynonyms
	resp := kmsg.NewPtrDescribeConfigsResponse()
	for _, res := range r.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		var (
			values []controller.ConfigValue
			source func(controller.ConfigValue) kmsg.ConfigSource
			syn    synonymsFunc
			err    error
		)
		switch res.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			values, err = describedTopicConfigs(rc.cluster, res.ResourceName)
			source, syn = topicConfigSource, topicSynonyms
		case kmsg.ConfigResourceTypeBroker:
			values, err = describedBrokerConfigs(rc.cluster, res.ResourceName)
			source, syn = brokerConfigSource, selfSynonym
		default:
			err = core.Errorf(core.InvalidRequest, "resource type %d is not supported: only topics (2) and brokers (4)", res.ResourceType)
		}
		code, msg := adminError(err)
		out.ErrorCode, out.ErrorMessage = int16(code), messagePtr(code, msg)
		if !synonyms {
			syn = nil
		}
		if err == nil {
			out.Configs = describeConfigEntries(values, res.ConfigNames, source, syn)
		}
		resp.Resources = append(resp.Resources, out)
	}
	return resp, nil
}

func describedTopicConfigs(cluster Cluster, name string) ([]controller.ConfigValue, error) {
	if err := controller.ValidateTopicName(name); err != nil {
		return nil, err
	}
	return cluster.TopicConfigs(name)
}

// describedBrokerConfigs is this broker's settings and the topic defaults
// under their broker names, sorted by name; nothing for the empty name.
func describedBrokerConfigs(cluster Cluster, name string) ([]controller.ConfigValue, error) {
	if name == "" {
		return nil, nil
	}
	self := cluster.BrokerID()
	if id, err := strconv.ParseInt(name, 10, 32); err != nil || int32(id) != self {
		return nil, core.Errorf(core.InvalidRequest,
			"unexpected broker id %s: this broker is %d (or give the empty name for cluster-wide defaults)", quoteName(name), self)
	}
	values := cluster.BrokerConfigs()
	for _, s := range controller.TopicConfigSpecs() {
		key, ok := brokerSynonyms[s.Key]
		if !ok {
			continue
		}
		values = append(values, controller.ConfigValue{Key: key, Value: s.Default, IsDefault: true,
			ReadOnly: true, Sensitive: s.Sensitive, Type: s.Type, Doc: s.Doc})
	}
	for i := range values {
		values[i].ReadOnly = true // no broker config can be changed at run time
	}
	sort.SliceStable(values, func(i, j int) bool { return values[i].Key < values[j].Key })
	return values, nil
}

func topicConfigSource(v controller.ConfigValue) kmsg.ConfigSource {
	if v.IsDefault {
		return kmsg.ConfigSourceDefaultConfig
	}
	return kmsg.ConfigSourceDynamicTopicConfig
}

func brokerConfigSource(v controller.ConfigValue) kmsg.ConfigSource {
	if v.IsDefault {
		return kmsg.ConfigSourceDefaultConfig
	}
	return kmsg.ConfigSourceStaticBrokerConfig
}

// synonymsFunc lists a config's synonyms, most preferred first, given the
// value and source it is described with.
type synonymsFunc func(v controller.ConfigValue, value *string, source kmsg.ConfigSource) []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym

// selfSynonym: a broker setting has no fallback; it lists itself.
func selfSynonym(v controller.ConfigValue, value *string, source kmsg.ConfigSource) []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	return []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{configSynonym(v.Key, value, source)}
}

// topicSynonyms: a topic config lists itself when set on the topic, then its
// default under the broker's name for it.
func topicSynonyms(v controller.ConfigValue, value *string, source kmsg.ConfigSource) []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	var out []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
	if !v.IsDefault {
		out = append(out, configSynonym(v.Key, value, source))
	}
	if broker, ok := brokerSynonyms[v.Key]; ok {
		spec, _ := controller.TopicConfigSpec(v.Key)
		def := kmsg.StringPtr(spec.Default)
		if v.Sensitive {
			def = nil
		}
		out = append(out, configSynonym(broker, def, kmsg.ConfigSourceDefaultConfig))
	}
	return out
}

// describeConfigEntries encodes values, keeping only names when it is not
// nil, with synonyms when synonyms is not nil.
func describeConfigEntries(values []controller.ConfigValue, names []string,
	source func(controller.ConfigValue) kmsg.ConfigSource, synonyms synonymsFunc) []kmsg.DescribeConfigsResponseResourceConfig {
	var keep map[string]bool
	if names != nil {
		keep = make(map[string]bool, len(names))
		for _, n := range names {
			keep[n] = true
		}
	}
	out := make([]kmsg.DescribeConfigsResponseResourceConfig, 0, len(values))
	for _, v := range values {
		if keep != nil && !keep[v.Key] {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name = v.Key
		if !v.Sensitive { // Kafka never shows a sensitive value
			c.Value = kmsg.StringPtr(v.Value)
		}
		c.ReadOnly, c.IsDefault, c.IsSensitive = v.ReadOnly, v.IsDefault, v.Sensitive
		c.Source = source(v)
		if synonyms != nil {
			c.ConfigSynonyms = synonyms(v, c.Value, c.Source)
		}
		out = append(out, c)
	}
	return out
}

func configSynonym(name string, value *string, source kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, value, source
	return s
}
