package group

import "testing"

// TestHasGroups: the runtime skips Ticks on a shard without groups, so
// HasGroups must turn true as soon as any group exists.
func TestHasGroups(t *testing.T) {
	c, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if c.HasGroups() {
		t.Fatal("a new coordinator has groups")
	}
	c.Apply(Join{Group: "g", ClientID: "c", SessionTimeoutMs: 10_000, RebalanceTimeoutMs: 10_000,
		ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}}, NowMs: 1})
	if !c.HasGroups() {
		t.Fatal("no groups after a Join")
	}
}
