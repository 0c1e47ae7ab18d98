package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// kcatConsumeTimeout bounds kcat -C -e, which reads 40 records.
const kcatConsumeTimeout = 30 * time.Second

// kcat (librdkafka) produces keyed lines, reads the topic back from the
// beginning to its end (-C -o beginning -e), and lists metadata (-L).
func TestKcat(t *testing.T) {
	needTool(t, toolOnPath("kcat"), "kcat (Debian package kcat)")
	forEachTarget(t, func(t *testing.T, tg *target) {
		const partitions = 2
		topic := uniqueName(t, "topic")
		createTopic(t, tg, topic, partitions)
		sent := keyedRecords(40, 8)

		var lines bytes.Buffer
		for _, r := range sent {
			lines.WriteString(r.Key + ":" + r.Value + "\n")
		}
		// kcat -P reports no offsets: what it delivered is judged by
		// reading the topic back, where every line sent must be found
		// exactly once at dense offsets (ackedFromRead).
		runClient(t, lines.Bytes(), "kcat", "-P", "-b", tg.bootstrap(), "-t", topic, "-K:", "-X", "acks=all", "-X", "socket.timeout.ms=20000")

		// kcat -e has no bound of its own: it stops at the end of every
		// partition (the last stable offset) or never.
		out := runClientWithin(t, kcatConsumeTimeout, nil, "kcat", "-C", "-b", tg.bootstrap(), "-t", topic, "-o", "beginning", "-e", "-J")
		var read []record
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var m struct {
				Partition int32   `json:"partition"`
				Offset    int64   `json:"offset"`
				Key       *string `json:"key"`
				Payload   *string `json:"payload"`
			}
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("kcat -J line %q: %v", sc.Text(), err)
			}
			if m.Key == nil || m.Payload == nil {
				t.Fatalf("kcat read a record without key or value: %s", sc.Text())
			}
			read = append(read, record{Key: *m.Key, Value: *m.Payload, Partition: m.Partition, Offset: m.Offset})
		}
		acked := ackedFromRead(t, sent, read)
		checkKeyPartitions(t, "kcat producer", acked)
		checkReadOnce(t, "kcat -C", acked, read)

		checkKcatMetadata(t, tg, topic, partitions)
	})
}

// checkKcatMetadata: kcat -L -J lists every broker at its address, and the
// topic with its partitions, each led by a listed broker with RF replicas.
func checkKcatMetadata(t *testing.T, tg *target, topic string, partitions int) {
	t.Helper()
	out := runClient(t, nil, "kcat", "-L", "-J", "-b", tg.bootstrap(), "-t", topic)
	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string  `json:"topic"`
			Err        *string `json:"error"`
			Partitions []struct {
				Partition int32 `json:"partition"`
				Leader    int32 `json:"leader"`
				Replicas  []struct {
					ID int32 `json:"id"`
				} `json:"replicas"`
				Err *string `json:"error"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat -L -J: %v\n%s", err, out)
	}
	addrByID := map[int32]string{}
	for _, b := range md.Brokers {
		addrByID[b.ID] = b.Name
	}
	for _, b := range tg.brokers {
		if got := addrByID[b.ID]; !strings.HasPrefix(got, b.KafkaAddr) {
			t.Errorf("kcat -L: broker %d listed at %q, want %s", b.ID, got, b.KafkaAddr)
		}
	}
	if len(md.Brokers) != len(tg.brokers) {
		t.Errorf("kcat -L lists %d brokers, want %d: %s", len(md.Brokers), len(tg.brokers), out)
	}
	if len(md.Topics) != 1 || md.Topics[0].Topic != topic || md.Topics[0].Err != nil {
		t.Fatalf("kcat -L -t %s: topics %s", topic, out)
	}
	ps := md.Topics[0].Partitions
	if len(ps) != partitions {
		t.Fatalf("kcat -L: %d partitions, want %d: %s", len(ps), partitions, out)
	}
	for _, p := range ps {
		if _, ok := addrByID[p.Leader]; !ok || p.Err != nil || len(p.Replicas) != int(tg.replicationFactor()) {
			t.Errorf("kcat -L: partition %d: leader %d, %d replicas (want %d), error %v", p.Partition, p.Leader, len(p.Replicas), tg.replicationFactor(), p.Err)
		}
	}
}
