package controller

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tidemark/tidemark/core"
)

// The topic config keys Tidemark supports. Any other key is INVALID_CONFIG.
const (
	ConfigCleanupPolicy        = "cleanup.policy"
	ConfigMaxMessageBytes      = "max.message.bytes"
	ConfigMessageTimestampType = "message.timestamp.type"
	ConfigMinInsyncReplicas    = "min.insync.replicas"
	ConfigRetentionBytes       = "retention.bytes"
	ConfigRetentionMs          = "retention.ms"
	ConfigSegmentBytes         = "segment.bytes"
	ConfigSegmentMs            = "segment.ms"
)

// ConfigType is a config's type as DescribeConfigs (v1+) reports it; the
// numbers are Kafka's (DescribeConfigsResponse.ConfigType).
type ConfigType int8

const (
	ConfigTypeString ConfigType = 2
	ConfigTypeInt    ConfigType = 3
	ConfigTypeLong   ConfigType = 5
	ConfigTypeList   ConfigType = 7
)

// ConfigSpec describes one supported topic config key.
type ConfigSpec struct {
	Key       string
	Default   string
	Type      ConfigType
	ReadOnly  bool // never true today: every supported key can be altered
	Sensitive bool // never true: no topic config is a secret
	Doc       string
}

// topicConfigSpecs is sorted by key. Validation lives in
// ValidateTopicConfig's switch; a test checks that the two agree and that
// every default is valid and canonical.
var topicConfigSpecs = []ConfigSpec{
	{Key: ConfigCleanupPolicy, Default: "delete", Type: ConfigTypeList,
		Doc: "Only \"delete\" (retention by time and size). \"compact\" is not supported yet."},
	{Key: ConfigMaxMessageBytes, Default: "1048588", Type: ConfigTypeInt,
		Doc: "Largest record batch a produce may append, in bytes; larger batches get MESSAGE_TOO_LARGE."},
	{Key: ConfigMessageTimestampType, Default: "CreateTime", Type: ConfigTypeString,
		Doc: "Only CreateTime: records keep the producer's timestamp. LogAppendTime is not supported yet."},
	{Key: ConfigMinInsyncReplicas, Default: "1", Type: ConfigTypeInt,
		Doc: "Accepted and stored, no effect: acks=all waits for a Raft majority, whatever this says."},
	{Key: ConfigRetentionBytes, Default: "-1", Type: ConfigTypeLong,
		Doc: "Per-partition size above which the oldest batches are deleted; -1 means no size limit."},
	{Key: ConfigRetentionMs, Default: "604800000", Type: ConfigTypeLong,
		Doc: "Age in ms after which batches are deleted; -1 means keep forever."},
	{Key: ConfigSegmentBytes, Default: "1073741824", Type: ConfigTypeInt,
		Doc: "Accepted and stored, no effect: Tidemark stores batches, not segment files."},
	{Key: ConfigSegmentMs, Default: "604800000", Type: ConfigTypeLong,
		Doc: "Accepted and stored, no effect: Tidemark stores batches, not segment files."},
}

// TopicConfigSpecs returns the supported topic config keys, sorted by key.
func TopicConfigSpecs() []ConfigSpec { return append([]ConfigSpec(nil), topicConfigSpecs...) }

// TopicConfigSpec returns the spec of key.
func TopicConfigSpec(key string) (ConfigSpec, bool) {
	i := sort.Search(len(topicConfigSpecs), func(i int) bool { return topicConfigSpecs[i].Key >= key })
	if i < len(topicConfigSpecs) && topicConfigSpecs[i].Key == key {
		return topicConfigSpecs[i], true
	}
	return ConfigSpec{}, false
}

// ValidateTopicConfig checks value for key and returns its canonical form,
// the form the controller stores and DescribeConfigs shows: surrounding
// spaces trimmed (Kafka's ConfigDef trims too) and numbers in plain decimal.
// A bad value or an unknown key is INVALID_CONFIG with the reason.
func ValidateTopicConfig(key, value string) (string, *core.Error) {
	v := strings.TrimSpace(value)
	switch key {
	case ConfigRetentionMs, ConfigRetentionBytes:
		return parseConfigInt(key, v, -1, math.MaxInt64)
	case ConfigSegmentMs:
		return parseConfigInt(key, v, 1, math.MaxInt64)
	case ConfigMaxMessageBytes:
		return parseConfigInt(key, v, 0, math.MaxInt32)
	case ConfigSegmentBytes:
		// Kafka's floor: the overhead of one legacy record.
		return parseConfigInt(key, v, 14, math.MaxInt32)
	case ConfigMinInsyncReplicas:
		return parseConfigInt(key, v, 1, math.MaxInt32)
	case ConfigCleanupPolicy:
		// A list in Kafka: "delete", "compact" or both, comma-separated.
		if v == "" {
			return "", core.Errorf(core.InvalidConfig, "invalid value \"\" for %s: expected \"delete\"", key)
		}
		for _, p := range strings.Split(v, ",") {
			switch strings.TrimSpace(p) {
			case "delete":
			case "compact":
				return "", core.Errorf(core.InvalidConfig,
					"%s=compact is not supported yet: Tidemark only deletes by retention", key)
			default:
				return "", core.Errorf(core.InvalidConfig, "invalid value %s for %s: expected \"delete\"", shortName(value), key)
			}
		}
		return "delete", nil
	case ConfigMessageTimestampType:
		switch v {
		case "CreateTime":
			return v, nil
		case "LogAppendTime":
			return "", core.Errorf(core.InvalidConfig, "%s=LogAppendTime is not supported yet", key)
		default:
			return "", core.Errorf(core.InvalidConfig,
				"invalid value %s for %s: expected CreateTime", shortName(value), key)
		}
	default:
		return "", core.Errorf(core.InvalidConfig, "unknown topic config name: %s", shortName(key))
	}
}

func parseConfigInt(key, v string, lo, hi int64) (string, *core.Error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return "", core.Errorf(core.InvalidConfig, "invalid value %s for %s: not an integer", shortName(v), key)
	}
	if n < lo || n > hi {
		return "", core.Errorf(core.InvalidConfig, "invalid value %d for %s: must be in [%d, %d]", n, key, lo, hi)
	}
	return strconv.FormatInt(n, 10), nil
}

// ConfigValue is one key of a topic's effective config, as DescribeConfigs
// reports it.
type ConfigValue struct {
	Key       string
	Value     string
	IsDefault bool // no value is set on the topic; Value is the default
	ReadOnly  bool
	Sensitive bool
	Type      ConfigType
	Doc       string
}

// EffectiveConfigs overlays a topic's set configs (TopicInfo.Configs) on the
// defaults and returns every supported key, sorted by key. Unknown keys in
// set are ignored.
func EffectiveConfigs(set []ConfigEntry) []ConfigValue {
	out := make([]ConfigValue, 0, len(topicConfigSpecs))
	for _, s := range topicConfigSpecs {
		cv := ConfigValue{Key: s.Key, Value: s.Default, IsDefault: true, ReadOnly: s.ReadOnly,
			Sensitive: s.Sensitive, Type: s.Type, Doc: s.Doc}
		for _, e := range set {
			if e.Key == s.Key {
				cv.Value, cv.IsDefault = e.Value, false
			}
		}
		out = append(out, cv)
	}
	return out
}

// LogSettings are the effective config values a partition's log enforces.
type LogSettings struct {
	RetentionMs     int64 // -1: keep forever
	RetentionBytes  int64 // -1: no size limit
	MaxMessageBytes int32
}

// LogSettingsOf returns the settings for a topic's set configs
// (TopicInfo.Configs) overlaid on the defaults. Values the controller
// stored are always valid; a value that is not (from some other source)
// falls back to the default.
func LogSettingsOf(set []ConfigEntry) LogSettings {
	get := func(key string) int64 {
		spec, _ := TopicConfigSpec(key)
		v := spec.Default
		for _, e := range set {
			if e.Key == key {
				if c, err := ValidateTopicConfig(key, e.Value); err == nil {
					v = c
				}
			}
		}
		n, err := strconv.ParseInt(v, 10, 64)
		core.Assert(err == nil, "config defaults valid", "%s default %q", key, spec.Default)
		return n
	}
	return LogSettings{
		RetentionMs:     get(ConfigRetentionMs),
		RetentionBytes:  get(ConfigRetentionBytes),
		MaxMessageBytes: int32(get(ConfigMaxMessageBytes)),
	}
}

// ReplaceConfigOps turns a non-incremental AlterConfigs (Kafka's legacy
// API: the request's entries become the topic's whole config) into the
// incremental ops AlterConfigs applies: one op per key, a set for every key
// the request names and a delete for every other supported key, sorted by
// key. A key named twice yields two ops, which AlterConfigs rejects
// (INVALID_REQUEST), as Kafka rejects duplicate keys.
func ReplaceConfigOps(entries []ConfigEntry) []ConfigOp {
	named := make(map[string]bool, len(entries))
	ops := make([]ConfigOp, 0, len(topicConfigSpecs)+len(entries))
	for _, e := range entries {
		named[e.Key] = true
		ops = append(ops, ConfigOp{Key: e.Key, Value: e.Value, Op: ConfigOpSet})
	}
	for _, s := range topicConfigSpecs {
		if !named[s.Key] {
			ops = append(ops, ConfigOp{Key: s.Key, Op: ConfigOpDelete})
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Key < ops[j].Key })
	return ops
}
