package raftsm

import (
	"fmt"
	"testing"
)

// testISRConfig: a 1 s window, rounds every 100 ms.
var testISRConfig = isrConfig{LagWindowMs: 1_000, PollIntervalMs: 100, AskTimeoutMs: 300, MaxSamples: 12}

func obs(shard uint64, applied ...uint64) []replicaProgress {
	out := make([]replicaProgress, len(applied))
	for i, a := range applied {
		out[i] = replicaProgress{ShardID: shard, ReplicaID: uint64(i + 1), Applied: a}
	}
	return out
}

func syncSet(t *isrTracker, shard uint64, replicas int, nowMs int64) string {
	s := ""
	for r := 1; r <= replicas; r++ {
		in, known := t.inSync(shard, uint64(r), nowMs)
		switch {
		case !known:
			s += "?"
		case in:
			s += "+"
		default:
			s += "-"
		}
	}
	return s
}

func TestISRTrackerLagAndReach(t *testing.T) {
	tr := newISRTracker(testISRConfig)
	const shard = 7
	if got := syncSet(tr, shard, 3, 0); got != "???" {
		t.Fatalf("before any round: %s, want unknown", got)
	}
	// Round 0: replica 3 is far behind, but the shard is new: grace.
	tr.record(0, obs(shard, 100, 100, 10))
	if got := syncSet(tr, shard, 3, 0); got != "+++" {
		t.Fatalf("new shard: %s, want +++ (one window of grace)", got)
	}
	// Replica 2 lags by one round's worth and keeps up with the older
	// samples; replica 3 stays stuck and drops out after the window.
	for now := int64(100); now <= 1_500; now += 100 {
		top := uint64(100 + now)
		tr.record(now, obs(shard, top, top-100, 10))
	}
	if got := syncSet(tr, shard, 3, 1_500); got != "++-" {
		t.Fatalf("after the window: %s, want ++- (replica 3 stuck)", got)
	}
	// Replica 3 catches up to what the shard had 500 ms ago: back in.
	tr.record(1_600, obs(shard, 1_700, 1_600, 1_100))
	if got := syncSet(tr, shard, 3, 1_600); got != "+++" {
		t.Fatalf("caught up within the window: %s, want +++", got)
	}
	// Replica 2's broker stops answering: with no writes at all it still
	// drops out once the window passes without an observation.
	for now := int64(1_700); now <= 2_800; now += 100 {
		round := obs(shard, 1_700, 1_700, 1_700)
		tr.record(now, []replicaProgress{round[0], round[2]})
	}
	if got := syncSet(tr, shard, 3, 2_800); got != "+-+" {
		t.Fatalf("replica 2 out of reach: %s, want +-+", got)
	}
	// It answers again, caught up: in sync at once.
	tr.record(2_900, obs(shard, 1_700, 1_700, 1_700))
	if got := syncSet(tr, shard, 3, 2_900); got != "+++" {
		t.Fatalf("replica 2 back: %s, want +++", got)
	}
}

func TestISRTrackerForgetsAndBounds(t *testing.T) {
	tr := newISRTracker(testISRConfig)
	for s := uint64(1); s <= 50; s++ {
		tr.record(0, obs(s, 5, 5))
	}
	// Shard 1 keeps being reported; the others vanish (deleted topics).
	for now := int64(100); now <= 3_000; now += 100 {
		tr.record(now, obs(1, uint64(now), uint64(now)))
	}
	tr.mu.Lock()
	shards, samples := len(tr.shards), len(tr.shards[1].samples)
	tr.mu.Unlock()
	if shards != 1 {
		t.Errorf("%d shards tracked, want 1 (the others unreported for two windows)", shards)
	}
	if samples > testISRConfig.MaxSamples || samples < 2 {
		t.Errorf("%d samples kept, want 2..%d", samples, testISRConfig.MaxSamples)
	}
	// A new replica id of an old shard (a replacement) has no grace.
	tr.record(3_100, []replicaProgress{{ShardID: 1, ReplicaID: 9, Applied: 0}, {ShardID: 1, ReplicaID: 1, Applied: 3_100}})
	if in, _ := tr.inSync(1, 9, 3_100); in {
		t.Error("a new, empty replica of a long-known shard is in sync")
	}
}

func TestProgressWireRoundTrip(t *testing.T) {
	a := progressAnswer{BrokerID: 3, Replicas: []replicaProgress{{1, 2, 3}, {4, 5, 1 << 40}}}
	got, err := decodeProgressAnswer(encodeProgressAnswer(a))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(a) {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, a)
	}
	b := encodeProgressAnswer(a)
	for cut := 0; cut < len(b); cut++ {
		if _, err := decodeProgressAnswer(b[:cut]); err == nil {
			t.Fatalf("truncated to %d bytes: decoded", cut)
		}
	}
	if _, err := decodeProgressAnswer(append(b, 0)); err == nil {
		t.Error("trailing byte: decoded")
	}
	kind, _, err := decodeJoinWireRequest(encodeProgressRequest())
	if err != nil || kind != joinKindProgress {
		t.Errorf("progress request decodes as kind %d, %v", kind, err)
	}
	big := progressAnswer{Replicas: make([]replicaProgress, progressMaxReplicas+5)}
	if n := len(encodeProgressAnswer(big)); n > progressMaxAnswerSize {
		t.Errorf("answer of %d bytes over the bound %d", n, progressMaxAnswerSize)
	}
}

// TestISRTrackerLeadershipTarget: only a replica that answered the latest
// round, held after the leader took over, and was caught up in it may be
// handed leadership.
func TestISRTrackerLeadershipTarget(t *testing.T) {
	tr := newISRTracker(testISRConfig)
	const shard = 9
	if _, known := tr.caughtUpInLatestRound(shard, 1, 0); known {
		t.Fatal("a shard no round has seen is known")
	}
	tr.record(100, obs(shard, 50, 50, 40))
	for _, tc := range []struct {
		replica uint64
		sinceMs int64
		want    bool
	}{
		{1, 0, true},    // caught up
		{3, 0, false},   // behind
		{2, 100, false}, // the latest round is not after the leader took over
		{2, 99, true},
	} {
		if ok, known := tr.caughtUpInLatestRound(shard, tc.replica, tc.sinceMs); !known || ok != tc.want {
			t.Errorf("replica %d since %d: ok %v known %v, want ok %v", tc.replica, tc.sinceMs, ok, known, tc.want)
		}
	}
	// Replica 1's broker dies: the next round does not hear from it. The
	// ISR keeps it for a window; leadership must not go to it at once.
	tr.record(200, []replicaProgress{{ShardID: shard, ReplicaID: 2, Applied: 50}, {ShardID: shard, ReplicaID: 3, Applied: 50}})
	if ok, _ := tr.caughtUpInLatestRound(shard, 1, 0); ok {
		t.Error("a replica missing from the latest round may take leadership")
	}
	if in, _ := tr.inSync(shard, 1, 200); !in {
		t.Error("replica 1 left the ISR before its lag window")
	}
	if ok, _ := tr.caughtUpInLatestRound(shard, 3, 150); !ok {
		t.Error("replica 3 caught up in the latest round, after the leader took over, but may not take leadership")
	}
}
