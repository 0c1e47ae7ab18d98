package controller

import (
	"sort"
	"testing"

	"github.com/tidemark/tidemark/core"
)

func TestConfigSpecs(t *testing.T) {
	specs := TopicConfigSpecs()
	if len(specs) != 8 || !sort.SliceIsSorted(specs, func(i, j int) bool { return specs[i].Key < specs[j].Key }) {
		t.Fatalf("specs not the 8 keys sorted: %v", specs)
	}
	for _, s := range specs {
		v, err := ValidateTopicConfig(s.Key, s.Default)
		if err != nil || v != s.Default {
			t.Errorf("%s: default %q validates to %q, %v", s.Key, s.Default, v, err)
		}
		if got, ok := TopicConfigSpec(s.Key); !ok || got != s {
			t.Errorf("TopicConfigSpec(%s) = %v, %v", s.Key, got, ok)
		}
		if s.ReadOnly || s.Sensitive || s.Doc == "" {
			t.Errorf("%s: read-only %v sensitive %v doc %q", s.Key, s.ReadOnly, s.Sensitive, s.Doc)
		}
	}
	specs[0].Key = "mutated"
	if TopicConfigSpecs()[0].Key == "mutated" {
		t.Fatal("TopicConfigSpecs returned the table itself")
	}
}

func TestValidateTopicConfig(t *testing.T) {
	cases := []struct {
		key, value, canonical string // canonical "" means invalid
	}{
		{ConfigRetentionMs, "-1", "-1"},
		{ConfigRetentionMs, " 60000 ", "60000"},
		{ConfigRetentionMs, "+7", "7"},
		{ConfigRetentionMs, "007", "7"},
		{ConfigRetentionMs, "-2", ""},
		{ConfigRetentionMs, "1.5", ""},
		{ConfigRetentionMs, "9223372036854775808", ""},
		{ConfigRetentionBytes, "9223372036854775807", "9223372036854775807"},
		{ConfigMaxMessageBytes, "0", "0"},
		{ConfigMaxMessageBytes, "2147483647", "2147483647"},
		{ConfigMaxMessageBytes, "2147483648", ""},
		{ConfigMaxMessageBytes, "-1", ""},
		{ConfigSegmentBytes, "14", "14"},
		{ConfigSegmentBytes, "13", ""},
		{ConfigSegmentMs, "1", "1"},
		{ConfigSegmentMs, "0", ""},
		{ConfigMinInsyncReplicas, "0", ""},
		{ConfigMinInsyncReplicas, "3", "3"},
		{ConfigCleanupPolicy, "delete", "delete"},
		{ConfigCleanupPolicy, " delete , delete", "delete"},
		{ConfigCleanupPolicy, "Delete", ""},
		{ConfigCleanupPolicy, "", ""},
		{ConfigCleanupPolicy, "delete,", ""},
		{ConfigCleanupPolicy, "compact", ""},
		{ConfigMessageTimestampType, "CreateTime", "CreateTime"},
		{ConfigMessageTimestampType, "LogAppendTime", ""},
		{ConfigMessageTimestampType, "createtime", ""},
		{"retention.MS", "1", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		v, err := ValidateTopicConfig(tc.key, tc.value)
		if tc.canonical == "" {
			if core.CodeOf(asError(err)) != core.InvalidConfig || err.Reason == "" {
				t.Errorf("%s=%q: got %q, %v; want INVALID_CONFIG", tc.key, tc.value, v, err)
			}
			continue
		}
		if err != nil || v != tc.canonical {
			t.Errorf("%s=%q: got %q, %v; want %q", tc.key, tc.value, v, err, tc.canonical)
		}
	}
}

func TestEffectiveConfigsAndLogSettings(t *testing.T) {
	if got := LogSettingsOf(nil); got != (LogSettings{RetentionMs: 604800000, RetentionBytes: -1, MaxMessageBytes: 1048588}) {
		t.Fatalf("defaults %+v", got)
	}
	c := newBootstrapped(t, DefaultConfig(), testBrokers(1), 1, 1)
	mustOK(t, c.Apply(CreateTopic{Name: "t", TopicID: topicID(1), Partitions: 1, ReplicationFactor: 1,
		Configs: []ConfigEntry{{ConfigRetentionBytes, " 4096"}, {ConfigMaxMessageBytes, "100"}}}))
	ti, _ := c.Topic("t")
	if got := LogSettingsOf(ti.Configs); got != (LogSettings{RetentionMs: 604800000, RetentionBytes: 4096, MaxMessageBytes: 100}) {
		t.Fatalf("settings %+v", got)
	}
	for _, cv := range EffectiveConfigs(ti.Configs) {
		set := cv.Key == ConfigRetentionBytes || cv.Key == ConfigMaxMessageBytes
		if cv.IsDefault == set {
			t.Errorf("%s: IsDefault %v", cv.Key, cv.IsDefault)
		}
		if cv.Key == ConfigRetentionBytes && cv.Value != "4096" {
			t.Errorf("retention.bytes %q", cv.Value)
		}
	}
	// Incremental: set one, delete one; untouched keys stay.
	mustOK(t, c.Apply(AlterConfigs{Name: "t", Ops: []ConfigOp{
		{Key: ConfigRetentionMs, Value: "-1", Op: ConfigOpSet},
		{Key: ConfigMaxMessageBytes, Op: ConfigOpDelete},
	}}))
	ti, _ = c.Topic("t")
	if got := LogSettingsOf(ti.Configs); got != (LogSettings{RetentionMs: -1, RetentionBytes: 4096, MaxMessageBytes: 1048588}) {
		t.Fatalf("after alter %+v (configs %v)", got, ti.Configs)
	}
	// Non-incremental: the request's entries become the whole config.
	mustOK(t, c.Apply(AlterConfigs{Name: "t", Ops: ReplaceConfigOps([]ConfigEntry{{ConfigSegmentMs, "10"}})}))
	ti, _ = c.Topic("t")
	if len(ti.Configs) != 1 || ti.Configs[0] != (ConfigEntry{ConfigSegmentMs, "10"}) {
		t.Fatalf("after replace %v", ti.Configs)
	}
	wantCode(t, c.Apply(AlterConfigs{Name: "t", Ops: ReplaceConfigOps([]ConfigEntry{{ConfigSegmentMs, "10"}, {ConfigSegmentMs, "11"}})}),
		core.InvalidRequest)
}
