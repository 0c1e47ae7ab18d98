package linearizability

import (
	"fmt"
	"testing"
	"time"
)

// historyFromBytes builds a small valid history from arbitrary bytes:
// each operation takes a few bytes choosing its client, kind, outcome,
// times, offsets and values from small domains (so that collisions,
// phantoms, cross-partition reads and conflicts are common).
func historyFromBytes(data []byte) History {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	var h History
	produced := 0
	now := int64(0)
	for len(data) > 0 && len(h.Operations) < 64 {
		client := next() % 4
		kind := next() % 6
		outcome := Outcome(1 + next()%3)
		tp := int32(next() % 2)
		now += int64(next() % 4)
		op := Operation{ID: len(h.Operations), Client: client, Call: now, Return: now + int64(next()%6), Outcome: outcome}
		offset := func() int64 {
			if b := next(); b == 255 {
				return maxOffset - 1
			} else {
				return int64(b % 8)
			}
		}
		switch kind {
		case 0:
			p := &Produce{Topic: "t", Partition: tp}
			for range 1 + next()%3 {
				p.Records = append(p.Records, Record{Key: fmt.Sprintf("k%d", next()%2), Value: fmt.Sprintf("v%d", produced)})
				produced++
			}
			op.Input, op.Output = p, &ProduceResult{BaseOffset: offset()}
		case 1:
			f := &FetchResult{HighWatermark: offset() - 1}
			for range next() % 4 {
				f.Records = append(f.Records, FetchedRecord{Offset: offset(), Key: fmt.Sprintf("k%d", next()%2), Value: fmt.Sprintf("v%d", next()%10)})
			}
			op.Input, op.Output = &Fetch{Topic: "t", Partition: tp, Offset: offset() - 1}, f
		case 2:
			op.Input, op.Output = &ListOffsets{Topic: "t", Partition: tp}, &ListOffsetsResult{Offset: offset()}
		case 3:
			op.Input, op.Output = &Commit{Group: "g", Topic: "t", Partition: tp, Generation: int32(next()%4) - 1, Offset: offset()}, &CommitResult{}
		case 4:
			op.Input, op.Output = &FetchCommitted{Group: "g", Topic: "t", Partition: tp}, &FetchCommittedResult{Offset: offset() - 1}
		case 5:
			out := &AssignResult{Member: fmt.Sprintf("m%d", next()%3), Generation: int32(next() % 3)}
			if next()%2 == 0 {
				out.Partitions = append(out.Partitions, TopicPartition{"t", tp})
			}
			op.Input, op.Output = &Assign{Group: "g"}, out
		}
		if outcome != OutcomeOK {
			op.Output = nil
		}
		if outcome == OutcomeUnknown {
			op.Return = 0
		}
		h.Operations = append(h.Operations, op)
	}
	return h
}

// Any valid history is checked without panicking, and every anomaly
// names operations of the history and a known kind.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 2, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 1, 2, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 2, 3, 0, 9})
	f.Add([]byte{1, 3, 0, 0, 2, 2, 1, 1, 5, 0, 0, 0, 1, 2, 3, 0, 3, 0, 0, 1, 1, 2, 0, 4, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 1, 0, 1, 2, 3, 255, 0, 1, 0, 0, 1, 1, 1, 255, 0, 1, 4, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := historyFromBytes(data)
		if err := h.Validate(); err != nil {
			t.Fatalf("generated an invalid history: %v", err)
		}
		res, err := Check(h, Config{ModelTimeout: 500 * time.Millisecond, ReadersCoverLog: len(data)%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Anomalies {
			kindRank(a.Kind)
			for _, id := range a.Ops {
				if id < 0 || id >= len(h.Operations) {
					t.Fatalf("anomaly names op %d of %d: %s", id, len(h.Operations), a.String())
				}
			}
		}
	})
}
