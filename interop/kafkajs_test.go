package interop

import (
	"path/filepath"
	"testing"
)

// kafkajs 2.2.4: admin createTopics with 2 partitions, a producer sending
// keyed JSON to explicit partitions, two consumer groups reading
// everything from the beginning.
func TestKafkajs(t *testing.T) {
	needTool(t, toolOnPath("node"), "node (Node.js)")
	needTool(t, fileExists(filepath.Join("js", "node_modules", "kafkajs", "package.json")), "kafkajs (npm ci in interop/js)")
	script := scriptPath(t, filepath.Join("js", "kafkajs.js"))
	forEachTarget(t, func(t *testing.T, tg *target) {
		const partitions = 2
		sent := keyedRecords(20, 4)
		// Explicit partitions, chosen per key so that a key stays in one.
		for i := range sent {
			sent[i].Partition = int32(seqKeyIndex(sent[i].Key) % partitions)
		}
		groups := []string{uniqueName(t, "group-a"), uniqueName(t, "group-b")}
		topic := uniqueName(t, "topic")
		input := map[string]any{
			"brokers": tg.addrs(), "topic": topic, "partitions": partitions,
			"replicationFactor": tg.replicationFactor(), "groups": groups, "records": sent, "waitMs": scriptWaitMs,
		}
		var out struct {
			Created bool                `json:"created"`
			Acked   []record            `json:"acked"`
			Reads   map[string][]record `json:"reads"`
			Error   *string             `json:"error"`
		}
		requireAPIs(t, tg, "kafkajs consumer groups", groupAPIs...)
		runScript(t, input, &out, "node", script)
		if !out.Created {
			t.Errorf("admin.createTopics returned false: the topic existed or was not created")
		}
		if out.Error != nil {
			t.Errorf("kafkajs: %s", *out.Error)
		}
		checkAcked(t, sent, out.Acked, partitions)
		for i, a := range out.Acked {
			if a.Partition != sent[i].Partition {
				t.Errorf("record %v sent to partition %d, acknowledged in %d", sent[i], sent[i].Partition, a.Partition)
			}
		}
		for _, g := range groups {
			checkReadOnce(t, "kafkajs group "+g, out.Acked, out.Reads[g])
			if out.Error == nil {
				checkCommitted(t, tg, g, topic, out.Acked)
			}
		}
	})
}

// seqKeyIndex is i for a key "key-i" made by keyedRecords.
func seqKeyIndex(key string) int {
	n := 0
	for _, c := range key[len("key-"):] {
		n = n*10 + int(c-'0')
	}
	return n
}
