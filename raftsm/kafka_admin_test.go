package raftsm

import (
	"sort"
	"testing"
)

// TestBrokerConfigs: the broker describes its own settings, sorted by
// name, each once and read-only, with the values it runs with.
func TestBrokerConfigs(t *testing.T) {
	cfg := DefaultNodeConfig()
	cfg.NodeID, cfg.Rack, cfg.KafkaAddr = 7, "r1", "10.0.0.7:9092"
	k := NewKafkaCluster(&Node{cfg: cfg}, KafkaSettings{DefaultPartitions: 3, DefaultReplicationFactor: 2, AutoCreateTopics: false})
	if k.BrokerID() != 7 {
		t.Errorf("BrokerID %d, want 7", k.BrokerID())
	}
	got := map[string]string{}
	cs := k.BrokerConfigs()
	if !sort.SliceIsSorted(cs, func(i, j int) bool { return cs[i].Key < cs[j].Key }) {
		t.Errorf("broker configs not sorted by name")
	}
	for _, c := range cs {
		if _, dup := got[c.Key]; dup {
			t.Errorf("%s listed twice", c.Key)
		}
		if !c.ReadOnly || c.IsDefault || c.Sensitive {
			t.Errorf("%s: read-only %v default %v sensitive %v, want read-only only", c.Key, c.ReadOnly, c.IsDefault, c.Sensitive)
		}
		got[c.Key] = c.Value
	}
	for key, want := range map[string]string{
		"broker.id": "7", "broker.rack": "r1", "advertised.listeners": "PLAINTEXT://10.0.0.7:9092",
		"num.partitions": "3", "default.replication.factor": "2", "auto.create.topics.enable": "false",
		"log.retention.check.interval.ms": "30000", "producer.id.expiration.ms": "86400000",
	} {
		if got[key] != want {
			t.Errorf("%s = %q, want %q", key, got[key], want)
		}
	}
}
