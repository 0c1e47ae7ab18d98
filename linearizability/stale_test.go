package linearizability

import "testing"

// TestStaleReads: Config.StaleReads accepts a stale committed prefix (the
// corpus's invalid-stale-read) but still rejects a read whose high
// watermark no prefix ever had (one beyond every produce).
func TestStaleReads(t *testing.T) {
	c, ok := loadCorpus(t)["invalid-stale-read"]
	if !ok {
		t.Fatal("corpus history invalid-stale-read missing")
	}
	h, err := DecodeHistory(c.History)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := Check(h, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if strict.OK() {
		t.Fatal("strict check accepted a stale read")
	}
	stale, err := Check(h, Config{StaleReads: true})
	if err != nil {
		t.Fatal(err)
	}
	if !stale.OK() {
		t.Fatalf("StaleReads rejected a stale committed prefix: %s", stale.String())
	}

	future := History{Operations: []Operation{
		{ID: 0, Client: 0, Call: 0, Return: 2, Outcome: OutcomeOK,
			Input: &Produce{Topic: "t", Records: []Record{{Value: "a"}}}, Output: &ProduceResult{BaseOffset: 0}},
		{ID: 1, Client: 1, Call: 3, Return: 4, Outcome: OutcomeOK,
			Input: &ListOffsets{Topic: "t"}, Output: &ListOffsetsResult{Offset: 5}},
	}}
	res, err := Check(future, Config{StaleReads: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() {
		t.Fatal("StaleReads accepted a listed offset beyond every produce")
	}
}
