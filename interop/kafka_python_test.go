package interop

import (
	"path/filepath"
	"testing"
)

// kafka-python 2.0.2 (Debian python3-kafka, /usr/bin/python3):
// KafkaProducer send and flush, KafkaConsumer in a group reading from the
// earliest offset.
func TestKafkaPython(t *testing.T) {
	needTool(t, pythonModule("kafka"), "kafka-python (Debian package python3-kafka)")
	script := scriptPath(t, filepath.Join("py", "kafka_python.py"))
	forEachTarget(t, func(t *testing.T, tg *target) {
		const partitions = 2
		topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
		createTopic(t, tg, topic, partitions)
		requireAPIs(t, tg, "KafkaConsumer with a group_id", groupAPIs...)
		sent := keyedRecords(30, 6)
		input := map[string]any{"bootstrap": tg.addrs(), "topic": topic, "group": group, "records": sent, "waitMs": scriptWaitMs}
		var out struct {
			Acked     []record `json:"acked"`
			Read      []record `json:"read"`
			Committed bool     `json:"committed"`
			Error     *string  `json:"error"`
		}
		runScript(t, input, &out, debianPython, script)
		if out.Error != nil {
			t.Errorf("kafka-python: %s", *out.Error)
		}
		checkAcked(t, sent, out.Acked, partitions)
		checkReadOnce(t, "kafka-python group "+group, out.Acked, out.Read)
		if !out.Committed {
			t.Errorf("kafka-python: the group's offsets were not committed")
		} else {
			checkCommitted(t, tg, group, topic, out.Acked)
		}
	})
}
