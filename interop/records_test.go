package interop

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// maxListed bounds how many records a failure message lists.
const maxListed = 10

// record is one record as a client produced or read it. Value is
// "<key>#<n>": the n-th record sent with that key, so per-key order is
// checkable from the value alone.
type record struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

func (r record) String() string {
	return fmt.Sprintf("%s=%s@%d/%d", r.Key, r.Value, r.Partition, r.Offset)
}

// keyedRecords makes n records over keys key-0..key-(nKeys-1), round robin,
// each value naming its key and its per-key sequence number.
func keyedRecords(n, nKeys int) []record {
	seq := map[string]int{}
	var out []record
	for i := 0; i < n; i++ {
		k := "key-" + strconv.Itoa(i%nKeys)
		out = append(out, record{Key: k, Value: k + "#" + strconv.Itoa(seq[k]), Partition: -1, Offset: -1})
		seq[k]++
	}
	return out
}

// seqOf is the per-key sequence number in a value made by keyedRecords.
func seqOf(t *testing.T, r record) int {
	t.Helper()
	k, n, ok := strings.Cut(r.Value, "#")
	if !ok || k != r.Key {
		t.Fatalf("record %v: value does not name its key", r)
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("record %v: bad sequence number", r)
	}
	return i
}

// checkAcked checks the producer's acknowledgements against what was sent:
// one per record, in send order, each with a partition and offset, no
// offset given twice, and every key in one partition.
func checkAcked(t *testing.T, sent, acked []record, partitions int32) {
	t.Helper()
	if len(acked) != len(sent) {
		t.Fatalf("%d records sent, %d acknowledged", len(sent), len(acked))
	}
	seen := map[[2]int64]record{}
	for i, a := range acked {
		if a.Key != sent[i].Key || a.Value != sent[i].Value {
			t.Fatalf("ack %d is for %v, sent %v", i, a, sent[i])
		}
		if a.Partition < 0 || a.Partition >= partitions || a.Offset < 0 {
			t.Fatalf("ack %d: bad partition or offset: %v", i, a)
		}
		pos := [2]int64{int64(a.Partition), a.Offset}
		if prev, dup := seen[pos]; dup {
			t.Fatalf("two records acknowledged at partition %d offset %d: %v and %v", a.Partition, a.Offset, prev, a)
		}
		seen[pos] = a
	}
	checkKeyPartitions(t, "acknowledged", acked)
}

// checkKeyPartitions: records with the same key are in the same partition.
func checkKeyPartitions(t *testing.T, what string, rs []record) {
	t.Helper()
	part := map[string]int32{}
	for _, r := range rs {
		if p, ok := part[r.Key]; ok && p != r.Partition {
			t.Errorf("%s: key %s in partitions %d and %d", what, r.Key, p, r.Partition)
		}
		part[r.Key] = r.Partition
	}
}

// checkReadOnce checks what one reader (a group, or a group-less consumer)
// read, in the order it read it, against the acknowledged records: each
// read exactly once, at its acknowledged partition and offset, nothing
// else read, and per key in send order at increasing offsets.
func checkReadOnce(t *testing.T, reader string, acked, read []record) {
	t.Helper()
	want := map[[2]int64]record{}
	for _, a := range acked {
		want[[2]int64{int64(a.Partition), a.Offset}] = a
	}
	got := map[[2]int64]bool{}
	lastSeq := map[string]int{}
	lastOffset := map[string]int64{}
	for _, r := range read {
		pos := [2]int64{int64(r.Partition), r.Offset}
		a, ok := want[pos]
		switch {
		case !ok:
			t.Errorf("%s read %v, which was not acknowledged there", reader, r)
			continue
		case a.Key != r.Key || a.Value != r.Value:
			t.Errorf("%s read %v at the position acknowledged for %v", reader, r, a)
			continue
		case got[pos]:
			t.Errorf("%s read %v twice", reader, r)
			continue
		}
		got[pos] = true
		n := seqOf(t, r)
		if prev, ok := lastSeq[r.Key]; ok && (n <= prev || r.Offset <= lastOffset[r.Key]) {
			t.Errorf("%s read key %s out of order: %v after #%d at offset %d", reader, r.Key, r, prev, lastOffset[r.Key])
		}
		lastSeq[r.Key], lastOffset[r.Key] = n, r.Offset
	}
	var missing []string
	for _, a := range acked {
		if !got[[2]int64{int64(a.Partition), a.Offset}] {
			missing = append(missing, a.String())
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		if len(missing) > maxListed {
			missing = append(missing[:maxListed], "...")
		}
		t.Errorf("%s read %d of %d acknowledged records; missing: %s", reader, len(got), len(acked), strings.Join(missing, " "))
	}
	checkKeyPartitions(t, reader, read)
}

// ackedFromRead is used for producers that do not report offsets (kcat):
// what was read must be exactly the sent records, each once, with the
// offsets of each partition dense from 0 (the topic is new and only this
// test writes to it). It returns the records as acknowledged for the
// checks above.
func ackedFromRead(t *testing.T, sent, read []record) []record {
	t.Helper()
	byValue := map[string]record{}
	for _, r := range read {
		if prev, dup := byValue[r.Value]; dup {
			t.Fatalf("%s read twice (at %d/%d and %d/%d)", r.Value, prev.Partition, prev.Offset, r.Partition, r.Offset)
		}
		byValue[r.Value] = r
	}
	var acked []record
	perPartition := map[int32][]int64{}
	for _, s := range sent {
		r, ok := byValue[s.Value]
		if !ok {
			t.Fatalf("sent %s=%s, never read (read %d of %d records)", s.Key, s.Value, len(read), len(sent))
		}
		if r.Key != s.Key {
			t.Fatalf("sent %s=%s, read it with key %q", s.Key, s.Value, r.Key)
		}
		acked = append(acked, r)
		perPartition[r.Partition] = append(perPartition[r.Partition], r.Offset)
	}
	if len(read) != len(sent) {
		t.Fatalf("read %d records, sent %d", len(read), len(sent))
	}
	for p, offs := range perPartition {
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d offsets are not dense from 0: %v", p, offs)
			}
		}
	}
	return acked
}
