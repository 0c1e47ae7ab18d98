package interop

import (
	"path/filepath"
	"slices"
	"testing"
)

// confluent-kafka-python (librdkafka; Debian python3-confluent-kafka,
// /usr/bin/python3): an idempotent producer with delivery reports, and a
// 2-member group that splits the topic's 2 partitions and reads every
// acknowledged record exactly once between its members.
func TestConfluentKafka(t *testing.T) {
	needTool(t, pythonModule("confluent_kafka"), "confluent-kafka-python (Debian package python3-confluent-kafka)")
	script := scriptPath(t, filepath.Join("py", "confluent.py"))
	forEachTarget(t, func(t *testing.T, tg *target) {
		const partitions = 2
		topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
		createTopic(t, tg, topic, partitions)
		requireAPIs(t, tg, "a confluent-kafka Consumer group", groupAPIs...)
		sent := keyedRecords(30, 6)
		input := map[string]any{"bootstrap": tg.bootstrap(), "topic": topic, "group": group, "records": sent, "waitMs": scriptWaitMs}
		var out struct {
			Assignments [][]int32  `json:"assignments"`
			Acked       []record   `json:"acked"`
			Reads       [][]record `json:"reads"`
			Error       *string    `json:"error"`
		}
		runScript(t, input, &out, debianPython, script)
		if out.Error != nil {
			t.Errorf("confluent-kafka: %s", *out.Error)
		}
		// Delivery reports come per partition, not in send order.
		acked := inSentOrder(t, sent, out.Acked)
		checkAcked(t, sent, acked, partitions)

		if len(out.Assignments) != 2 || len(out.Reads) != 2 {
			t.Fatalf("want 2 members, got assignments %v", out.Assignments)
		}
		a, b := out.Assignments[0], out.Assignments[1]
		if all := slices.Sorted(slices.Values(append(slices.Clone(a), b...))); len(a) == 0 || len(b) == 0 || !slices.Equal(all, []int32{0, 1}) {
			t.Errorf("the 2 members should split partitions 0 and 1, got %v and %v", a, b)
		}
		var all []record
		for i, rs := range out.Reads {
			for _, r := range rs {
				if !slices.Contains(out.Assignments[i], r.Partition) {
					t.Errorf("member %d read %v from a partition it was not assigned (%v)", i, r, out.Assignments[i])
				}
			}
			all = append(all, rs...)
		}
		checkReadOnce(t, "confluent-kafka group "+group, acked, all)
		if out.Error == nil {
			checkCommitted(t, tg, group, topic, acked)
		}
	})
}

// inSentOrder puts acknowledgements (matched by value) in send order.
func inSentOrder(t *testing.T, sent, acked []record) []record {
	t.Helper()
	byValue := map[string]record{}
	for _, a := range acked {
		byValue[a.Value] = a
	}
	var out []record
	for _, s := range sent {
		if a, ok := byValue[s.Value]; ok {
			out = append(out, a)
		}
	}
	if len(out) != len(acked) {
		t.Fatalf("delivery reports for records never sent: %v", acked)
	}
	return out
}
