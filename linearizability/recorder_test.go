package linearizability

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// memLog is a trivially linearizable partition log shared by goroutines.
type memLog struct {
	mu     sync.Mutex
	values []string
}

func (l *memLog) produce(vals []string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	base := int64(len(l.values))
	l.values = append(l.values, vals...)
	return base
}

func (l *memLog) fetch(from int64, max int) ([]FetchedRecord, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var recs []FetchedRecord
	for o := from; o < int64(len(l.values)) && len(recs) < max; o++ {
		recs = append(recs, FetchedRecord{Offset: o, Value: l.values[o]})
	}
	return recs, int64(len(l.values))
}

// Concurrent goroutines record through one Recorder with the monotonic
// clock, against a correct log: the history is valid and passes; the same
// history with one acknowledgement falsified fails.
func TestRecorderConcurrent(t *testing.T) {
	rec := NewRecorder()
	clock := MonotonicClock()
	var log memLog
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := int64(0)
			for i := range 100 {
				if i%2 == 0 {
					vals := []string{fmt.Sprintf("c%d-%d", c, i), fmt.Sprintf("c%d-%d+", c, i)}
					id := rec.Invoke(c, clock(), &Produce{Topic: "t", Records: []Record{{Value: vals[0]}, {Value: vals[1]}}})
					base := log.produce(vals)
					if i%10 == 4 {
						// Pretend the answer was lost.
						if err := rec.Abandon(id, clock(), "lost"); err != nil {
							t.Error(err)
						}
						continue
					}
					if err := rec.Complete(id, clock(), &ProduceResult{BaseOffset: base}); err != nil {
						t.Error(err)
					}
					continue
				}
				id := rec.Invoke(c, clock(), &Fetch{Topic: "t", Offset: -1})
				recs, hw := log.fetch(next, 5)
				if len(recs) > 0 {
					next = recs[len(recs)-1].Offset + 1
				}
				if err := rec.Complete(id, clock(), &FetchResult{Records: recs, HighWatermark: hw}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	h := rec.History()
	if len(h.Operations) != 800 {
		t.Fatalf("%d operations recorded, want 800", len(h.Operations))
	}
	res, err := Check(h, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("correct log rejected: %s", res.String())
	}
	// Falsify one acknowledgement: claim the batch went one offset later.
	for i := range h.Operations {
		op := &h.Operations[i]
		if op.Outcome == OutcomeOK && op.Kind() == KindProduce {
			op.Output = &ProduceResult{BaseOffset: op.Output.(*ProduceResult).BaseOffset + 1}
			break
		}
	}
	res, err = Check(h, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() {
		t.Fatal("falsified acknowledgement accepted")
	}
}

func TestRecorderErrorsAndPending(t *testing.T) {
	rec := NewRecorder()
	a := rec.Invoke(0, 10, &Produce{Topic: "t", Records: []Record{{Value: "a"}}})
	b := rec.Invoke(1, 11, &Fetch{Topic: "t"})
	c := rec.Invoke(2, 12, &Commit{Group: "g", Topic: "t", Generation: 1, Offset: 0})
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unknown id", rec.Complete(99, 20, &ProduceResult{}), "no such operation"},
		{"nil output", rec.Complete(a, 20, nil), "nil output"},
		{"wrong kind", rec.Complete(a, 20, &FetchResult{}), "fetch output for a produce input"},
		{"return before call", rec.Complete(a, 5, &ProduceResult{}), "before call"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if err := rec.Complete(a, 20, &ProduceResult{BaseOffset: 0}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Fail(a, 21, "again"); err == nil || !strings.Contains(err.Error(), "already finished") {
		t.Errorf("finishing twice: got %v", err)
	}
	if err := rec.Fail(c, 22, "ILLEGAL_GENERATION"); err != nil {
		t.Fatal(err)
	}
	h := rec.History()
	if got := h.Operations[b].Outcome; got != OutcomeUnknown {
		t.Errorf("pending fetch recorded as %v, want unknown", got)
	}
	if got := h.Operations[c]; got.Outcome != OutcomeFailed || got.Error != "ILLEGAL_GENERATION" || got.Return != 22 {
		t.Errorf("failed commit recorded as %+v", got)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	// History is a snapshot: finishing b afterwards does not change it.
	if err := rec.Complete(b, 30, &FetchResult{HighWatermark: 1}); err != nil {
		t.Fatal(err)
	}
	if h.Operations[b].Outcome != OutcomeUnknown {
		t.Error("History shares operation state with the recorder")
	}
}
