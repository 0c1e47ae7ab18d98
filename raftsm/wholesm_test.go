package raftsm

import (
	"encoding/binary"
	"errors"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// counter is the smallest wholeState: it sums the int64 commands it applies.
type counter struct{ sum int64 }

func (c *counter) apply(cmd []byte) ([]byte, error) {
	if len(cmd) != 8 {
		return nil, errors.New("counter command is not 8 bytes")
	}
	c.sum += int64(binary.BigEndian.Uint64(cmd))
	return binary.BigEndian.AppendUint64(nil, uint64(c.sum)), nil
}
func (c *counter) snapshot() []byte { return binary.BigEndian.AppendUint64(nil, uint64(c.sum)) }
func (c *counter) restore(b []byte) error {
	if len(b) != 8 {
		return errors.New("counter snapshot is not 8 bytes")
	}
	c.sum = int64(binary.BigEndian.Uint64(b))
	return nil
}

func counterSum(s wholeState) (any, error) { return s.(*counter).sum, nil }

// TestWholeSMSurvivesRestartsAndCatchesUpBySnapshot runs the counter over
// three real dragonboat NodeHosts: a stopped replica misses entries that are
// compacted away behind a snapshot, comes back and catches up; then the
// whole cluster restarts and keeps its state.
func TestWholeSMSurvivesRestartsAndCatchesUpBySnapshot(t *testing.T) {
	timing := DefaultRaftTiming()
	timing.SnapshotEntries, timing.CompactionOverheadEntries = 20, 5
	c := newTestCluster(t, 3, 7, timing, func(_ int, db *stateDB) sm.IOnDiskStateMachine {
		return newWholeSM(7, db, func() wholeState { return &counter{} })
	})
	c.startAll()
	add := func(v int64) int64 {
		return int64(binary.BigEndian.Uint64(c.propose(binary.BigEndian.AppendUint64(nil, uint64(v)))))
	}
	want := int64(0)
	for i := int64(1); i <= 30; i++ {
		want += i
		if got := add(i); got != want {
			t.Fatalf("after adding %d: sum %d, want %d", i, got, want)
		}
	}
	lagger := (c.leader() + 1) % 3
	c.stop(lagger)
	for i := int64(1); i <= 100; i++ { // several snapshot intervals: the stopped replica's entries are compacted away
		want += i
		add(i)
	}
	c.start(lagger, false)
	c.waitFor("the restarted replica to catch up", func() bool { return c.read(lagger, counterSum) == want })
	if c.events[lagger].snapshotsRecovered.Load() == 0 {
		t.Fatal("restarted replica caught up without receiving a snapshot: the test did not exercise snapshot streaming")
	}
	c.stopAll()
	c.startAll()
	for i := range c.hosts {
		if got := c.read(i, counterSum); got != want {
			t.Fatalf("after full restart host %d reads %d, want %d", i, got, want)
		}
	}
}
