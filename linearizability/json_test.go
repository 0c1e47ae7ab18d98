package linearizability

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeHistoryRejects(t *testing.T) {
	produce := `{"id":0,"client":0,"kind":"produce","call":0,"return":1,"outcome":"ok","input":{"topic":"t","partition":0,"records":[{"value":"a"}]},"output":{"base_offset":0}}`
	for _, tc := range []struct{ name, json, want string }{
		{"not json", `{`, "unexpected EOF"},
		{"wrong version", `{"version":2,"operations":[]}`, "version 2"},
		{"missing version", `{"operations":[]}`, "version 0"},
		{"unknown top-level field", `{"version":1,"operations":[],"extra":1}`, "unknown field"},
		{"trailing data", `{"version":1,"operations":[]} {}`, "trailing data"},
		{"unknown op field", `{"version":1,"operations":[` + strings.Replace(produce, `"client":0`, `"client":0,"clint":1`, 1) + `]}`, "unknown field"},
		{"unknown kind", `{"version":1,"operations":[` + strings.Replace(produce, `"produce"`, `"delete"`, 1) + `]}`, "unknown kind"},
		{"unknown outcome", `{"version":1,"operations":[` + strings.Replace(produce, `"ok"`, `"maybe"`, 1) + `]}`, "unknown outcome"},
		{"no input", `{"version":1,"operations":[{"id":0,"client":0,"kind":"produce","call":0,"outcome":"unknown"}]}`, "no input"},
		{"ok without output", `{"version":1,"operations":[` + strings.Replace(produce, `,"output":{"base_offset":0}`, ``, 1) + `]}`, "ok without output"},
		{"failed with output", `{"version":1,"operations":[` + strings.Replace(produce, `"ok"`, `"failed"`, 1) + `]}`, "failed with an output"},
		{"unknown field in input", `{"version":1,"operations":[` + strings.Replace(produce, `"partition":0`, `"partition":0,"offset":3`, 1) + `]}`, "unknown field"},
		{"id not position", `{"version":1,"operations":[` + strings.Replace(produce, `"id":0`, `"id":1`, 1) + `]}`, "not its position"},
		{"return before call", `{"version":1,"operations":[` + strings.Replace(produce, `"call":0`, `"call":5`, 1) + `]}`, "before call"},
		{"negative partition", `{"version":1,"operations":[` + strings.Replace(produce, `"partition":0`, `"partition":-1`, 1) + `]}`, "negative partition"},
		{"negative base offset", `{"version":1,"operations":[` + strings.Replace(produce, `"base_offset":0`, `"base_offset":-1`, 1) + `]}`, "base offset -1"},
		{"empty value", `{"version":1,"operations":[` + strings.Replace(produce, `"value":"a"`, `"value":""`, 1) + `]}`, "empty value"},
		{"no records", `{"version":1,"operations":[` + strings.Replace(produce, `[{"value":"a"}]`, `[]`, 1) + `]}`, "without records"},
		{"value produced twice", `{"version":1,"operations":[` + produce + `,` + strings.Replace(produce, `"id":0`, `"id":1`, 1) + `]}`, "already produced"},
		{"negative time", `{"version":1,"operations":[` + strings.Replace(produce, `"call":0`, `"call":-1`, 1) + `]}`, "call time -1"},
		{"offset too large", `{"version":1,"operations":[` + strings.Replace(produce, `"base_offset":0`, `"base_offset":9223372036854775807`, 1) + `]}`, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeHistory([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Every operation kind, with every optional field set and unset,
// survives an encode/decode round trip unchanged.
func TestHistoryRoundTrip(t *testing.T) {
	h := History{Operations: []Operation{
		{Client: 0, Call: 1, Return: 2, Outcome: OutcomeOK, Input: &Produce{Topic: "t", Partition: 3, Records: []Record{{Key: "k", Value: "a"}, {Value: "b"}}}, Output: &ProduceResult{BaseOffset: 7}},
		{Client: 1, Call: 1, Return: 9, Outcome: OutcomeUnknown, Input: &Produce{Topic: "t", Partition: 3, Records: []Record{{Value: "c"}}}, Error: "timeout"},
		{Client: 2, Call: 3, Return: 4, Outcome: OutcomeOK, Input: &Fetch{Topic: "t", Partition: 3, Offset: -1}, Output: &FetchResult{Records: []FetchedRecord{{Offset: 7, Key: "k", Value: "a"}}, HighWatermark: -1}},
		{Client: 2, Call: 5, Return: 6, Outcome: OutcomeOK, Input: &Fetch{Topic: "t", Partition: 3, Offset: 9}, Output: &FetchResult{HighWatermark: 9}},
		{Client: 2, Call: 5, Return: 6, Outcome: OutcomeFailed, Input: &ListOffsets{Topic: "t", Partition: 3}, Error: "NOT_LEADER_OR_FOLLOWER"},
		{Client: 2, Call: 7, Return: 8, Outcome: OutcomeOK, Input: &ListOffsets{Topic: "t", Partition: 3}, Output: &ListOffsetsResult{Offset: 9}},
		{Client: 3, Call: 7, Return: 8, Outcome: OutcomeOK, Input: &Assign{Group: "g"}, Output: &AssignResult{Member: "m", Generation: 4, Partitions: []TopicPartition{{"t", 3}, {"u", 0}}}},
		{Client: 3, Call: 9, Return: 10, Outcome: OutcomeOK, Input: &Assign{Group: "g"}, Output: &AssignResult{Member: "m", Generation: 5}},
		{Client: 3, Call: 11, Return: 12, Outcome: OutcomeOK, Input: &Commit{Group: "g", Topic: "t", Partition: 3, Generation: 5, Member: "m", Offset: 8}, Output: &CommitResult{}},
		{Client: 3, Call: 11, Outcome: OutcomeUnknown, Input: &Commit{Group: "g", Topic: "t", Partition: 3, Generation: -1, Offset: -1}},
		{Client: 3, Call: 13, Return: 14, Outcome: OutcomeOK, Input: &FetchCommitted{Group: "g", Topic: "t", Partition: 3}, Output: &FetchCommittedResult{Offset: -1}},
	}}
	for i := range h.Operations {
		h.Operations[i].ID = i
	}
	enc, err := EncodeHistory(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHistory(enc)
	if err != nil {
		t.Fatalf("%v\n%s", err, enc)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("round trip changed the history:\n%s", enc)
	}
	if n := strings.Count(string(enc), "\n"); n != len(h.Operations)+2 {
		t.Errorf("encoding has %d lines, want one per operation plus two", n)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	h := History{Operations: []Operation{{ID: 0, Outcome: OutcomeOK, Input: &Fetch{Topic: "t"}}}}
	if _, err := EncodeHistory(h); err == nil {
		t.Fatal("encoded an ok operation without output")
	}
	h = History{Operations: []Operation{{ID: 0, Outcome: OutcomeOK, Input: &Fetch{Topic: "t"}, Output: &ProduceResult{}}}}
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "fetch input with produce output") {
		t.Fatalf("got %v", err)
	}
	h = History{Operations: []Operation{{ID: 0, Outcome: OutcomeUnknown, Input: (*Produce)(nil)}}}
	if err := h.Validate(); err == nil {
		t.Fatal("validated a nil produce")
	}
}

func FuzzDecodeHistory(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var c corpusCase
		if err := decodeStrict(data, &c); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(c.History))
	}
	f.Add([]byte(`{"version":1,"operations":[]}`))
	f.Add([]byte(`{"version":1,"operations":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := DecodeHistory(data)
		if err != nil {
			return
		}
		enc, err := EncodeHistory(h)
		if err != nil {
			t.Fatalf("decoded history does not encode: %v", err)
		}
		h2, err := DecodeHistory(enc)
		if err != nil {
			t.Fatalf("encoding does not decode: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("round trip changed the history:\n%s", enc)
		}
		// Any valid history can be checked without panicking.
		if _, err := Check(h, Config{ModelTimeout: 200 * time.Millisecond}); err != nil {
			t.Fatalf("check of a valid history: %v", err)
		}
	})
}
