package group

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/core"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newTestCoordinator(t *testing.T, mutate func(*Config)) *Coordinator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.InitialRebalanceDelayMs = 0
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func consumerJoin(nowMs int64, group, memberID, clientID string, topics ...string) Join {
	return Join{NowMs: nowMs, Group: group, MemberID: memberID, ClientID: clientID, SessionTimeoutMs: 10000,
		RebalanceTimeoutMs: 10000, ProtocolType: "consumer",
		Protocols: []Protocol{{Name: "range", Metadata: subscriptionBytes(topics)}}}
}

func subscriptionBytes(topics []string) []byte {
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = topics
	return md.AppendTo(nil)
}

func consumerAssignment(topic string, partitions ...int32) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	at := kmsg.NewConsumerMemberAssignmentTopic()
	at.Topic, at.Partitions = topic, partitions
	a.Topics = []kmsg.ConsumerMemberAssignmentTopic{at}
	return a.AppendTo(nil)
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"min session zero":     func(c *Config) { c.MinSessionTimeoutMs = 0 },
		"max below min":        func(c *Config) { c.MaxSessionTimeoutMs = c.MinSessionTimeoutMs - 1 },
		"negative delay":       func(c *Config) { c.InitialRebalanceDelayMs = -1 },
		"no retention":         func(c *Config) { c.OffsetsRetentionMs = 0 },
		"no groups":            func(c *Config) { c.MaxGroups = 0 },
		"name over encoding":   func(c *Config) { c.MaxNameBytes = maxDecodeNameBytes + 1 },
		"negative meta":        func(c *Config) { c.MaxOffsetMetadataBytes = -1 },
		"assignment over blob": func(c *Config) { c.MaxAssignmentBytes = maxDecodeBlobBytes + 1 },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		if cfg.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted", name)
		}
	}
}

// TestOwnershipConflictsCounted: a consumer leader that gives one partition
// to two members is accepted (as Kafka does) and counted.
func TestOwnershipConflictsCounted(t *testing.T) {
	if !core.ExpensiveChecks {
		t.Skip("ownership conflicts are counted only under -tags invariants")
	}
	c := newTestCoordinator(t, nil)
	c.Apply(consumerJoin(0, "g", "", "a", "t"))
	c.Apply(consumerJoin(1, "g", "", "b", "t"))
	out := c.Apply(consumerJoin(2, "g", "a-0000000000000001", "a", "t"))
	if j := out.Result.(JoinResult); j.Err != nil || j.Generation != 2 {
		t.Fatalf("join: %s", fmtOutput(out))
	}
	c.Apply(Sync{NowMs: 3, Group: "g", Generation: 2, MemberID: "b-0000000000000002"})
	out = c.Apply(Sync{NowMs: 4, Group: "g", Generation: 2, MemberID: "a-0000000000000001", Assignments: []MemberAssignment{
		{MemberID: "a-0000000000000001", Assignment: consumerAssignment("t", 0, 1)},
		{MemberID: "b-0000000000000002", Assignment: consumerAssignment("t", 1, 2)},
	}})
	if s := out.Result.(SyncResult); s.Err != nil || len(out.Completions) != 1 {
		t.Fatalf("sync: %s", fmtOutput(out))
	}
	d, _ := c.DescribeGroup("g")
	if d.State != Stable || d.OwnershipConflicts != 1 || c.OwnershipConflicts() != 1 {
		t.Fatalf("want Stable with 1 conflict (t/1), got %s; shard total %d", fmtDescription(d), c.OwnershipConflicts())
	}
}

// TestTimeNeverGoesBack: a command stamped earlier than one already
// applied counts as the later time, so a deadline set by the later one
// does not move.
func TestTimeNeverGoesBack(t *testing.T) {
	c := newTestCoordinator(t, nil)
	c.Apply(consumerJoin(100000, "g", "", "a", "t"))
	c.Apply(Sync{NowMs: 100000, Group: "g", Generation: 1, MemberID: "a-0000000000000001"})
	// A proposer whose clock is far behind heartbeats: the member is heard
	// from at 100000, not at 5.
	c.Apply(Heartbeat{NowMs: 5, Group: "g", Generation: 1, MemberID: "a-0000000000000001"})
	if out := c.Apply(Tick{NowMs: 6}); len(out.Result.(TickResult).RemovedMembers) != 0 {
		t.Fatalf("a tick stamped in the past expired a session: %s", fmtOutput(out))
	}
	if out := c.Apply(Tick{NowMs: 109999}); len(out.Result.(TickResult).RemovedMembers) != 0 {
		t.Fatalf("session expired early: %s", fmtOutput(out))
	}
	if out := c.Apply(Tick{NowMs: 110000}); len(out.Result.(TickResult).RemovedMembers) != 1 {
		t.Fatalf("session did not expire at 110000: %s", fmtOutput(out))
	}
}

// TestStateDoesNotAliasCommandBytes: decoded commands alias their input;
// the coordinator must copy what it keeps.
func TestStateDoesNotAliasCommandBytes(t *testing.T) {
	c := newTestCoordinator(t, nil)
	enc := EncodeCommand(consumerJoin(0, "g", "", "a", "topic"))
	cmd, err := DecodeCommand(enc)
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(cmd)
	enc2 := EncodeCommand(Sync{NowMs: 1, Group: "g", Generation: 1, MemberID: "a-0000000000000001",
		Assignments: []MemberAssignment{{MemberID: "a-0000000000000001", Assignment: []byte("assignment")}}})
	cmd2, err := DecodeCommand(enc2)
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(cmd2)
	before := c.Snapshot()
	for i := range enc {
		enc[i] = 0xAA
	}
	for i := range enc2 {
		enc2[i] = 0xAA
	}
	if !bytes.Equal(c.Snapshot(), before) {
		t.Fatal("state changed when the runtime reused a command's buffer")
	}
	d, _ := c.DescribeGroup("g")
	if string(d.Members[0].Assignment) != "assignment" {
		t.Fatalf("assignment %q", d.Members[0].Assignment)
	}
}

// TestEncodingsRoundTrip: every command and result kind decodes to what
// was encoded.
func TestEncodingsRoundTrip(t *testing.T) {
	for _, cmd := range seedCommands() {
		got, err := DecodeCommand(EncodeCommand(cmd))
		if err != nil || !reflect.DeepEqual(got, cmd) {
			t.Errorf("%T: got %+v, %v; want %+v", cmd, got, err, cmd)
		}
	}
	results := []Result{
		JoinResult{Err: core.Errorf(core.MemberIDRequired, "r"), MemberID: "m", Generation: -1},
		JoinResult{MemberID: "m", Generation: 3, ProtocolType: "consumer", Protocol: "range", LeaderID: "m",
			Members: []JoinMember{{MemberID: "m", Metadata: []byte("x")}, {MemberID: "n"}}},
		SyncResult{Parked: true, MemberID: "m"},
		SyncResult{MemberID: "m", ProtocolType: "consumer", Protocol: "range", Assignment: []byte("a")},
		HeartbeatResult{Err: core.Errorf(core.RebalanceInProgress, "")},
		HeartbeatResult{},
		LeaveResult{Members: []MemberError{{MemberID: "m"}, {MemberID: "n", Err: core.Errorf(core.UnknownMemberID, "x")}}},
		LeaveResult{Err: core.Errorf(core.InvalidGroupID, "x")},
		CommitOffsetsResult{Partitions: []PartitionError{{Topic: "t", Partition: 2, Err: core.Errorf(OffsetMetadataTooLarge, "x")}}},
		TickResult{RemovedMembers: []RemovedMember{{Group: "g", MemberID: "m", Reason: RemovedNotSynced}}, ExpiredOffsets: 7, DeletedGroups: []string{"g"}},
		DeleteGroupsResult{Groups: []GroupError{{Group: "g"}, {Group: "h", Err: core.Errorf(core.NonEmptyGroup, "x")}}},
	}
	for _, r := range results {
		got, err := DecodeResult(EncodeResult(r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("%T: got %+v, %v; want %+v", r, got, err, r)
		}
	}
	comps := []Completion{
		JoinCompletion{Group: "g", MemberID: "m", Response: JoinResult{MemberID: "m", Generation: 1}},
		SyncCompletion{Group: "g", MemberID: "m", Response: SyncResult{MemberID: "m", Assignment: []byte("a")}},
	}
	for _, comp := range comps {
		got, err := DecodeCompletion(EncodeCompletion(comp))
		if err != nil || !reflect.DeepEqual(got, comp) {
			t.Errorf("%T: got %+v, %v; want %+v", comp, got, err, comp)
		}
	}
	o := Output{Result: results[1], Completions: comps}
	if got, err := DecodeOutput(EncodeOutput(o)); err != nil || !reflect.DeepEqual(got, o) {
		t.Errorf("output: got %+v, %v", got, err)
	}
	// Every encoding leads with the version byte; another version is refused.
	decoders := map[string]struct {
		b      []byte
		decode func([]byte) error
	}{
		"command":    {EncodeCommand(Tick{}), func(b []byte) error { _, err := DecodeCommand(b); return err }},
		"result":     {EncodeResult(HeartbeatResult{}), func(b []byte) error { _, err := DecodeResult(b); return err }},
		"completion": {EncodeCompletion(comps[0]), func(b []byte) error { _, err := DecodeCompletion(b); return err }},
		"output":     {EncodeOutput(o), func(b []byte) error { _, err := DecodeOutput(b); return err }},
		"snapshot": {newTestCoordinator(t, nil).Snapshot(), func(b []byte) error {
			_, err := Restore(DefaultConfig(), b)
			return err
		}},
	}
	for name, d := range decoders {
		if d.b[0] != encodingVersion {
			t.Errorf("%s starts with %d", name, d.b[0])
		}
		if err := d.decode(d.b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		d.b[0] = encodingVersion + 1
		if err := d.decode(d.b); err == nil || !strings.Contains(err.Error(), "version") {
			t.Errorf("%s of another version: %v", name, err)
		}
	}
}

// TestRestoreRejects: Restore refuses snapshots that are truncated, carry
// trailing bytes, list keys out of order, or hold states that break the
// coordinator's invariants.
func TestRestoreRejects(t *testing.T) {
	c := newTestCoordinator(t, nil)
	c.Apply(consumerJoin(0, "a", "", "x", "t"))
	c.Apply(consumerJoin(0, "b", "", "y", "t"))
	good := c.Snapshot()
	if _, err := Restore(c.cfg, good); err != nil {
		t.Fatalf("good snapshot: %v", err)
	}
	if _, err := Restore(c.cfg, good[:len(good)-1]); err == nil {
		t.Error("truncated snapshot accepted")
	}
	if _, err := Restore(c.cfg, append(append([]byte(nil), good...), 0)); err == nil {
		t.Error("snapshot with a trailing byte accepted")
	}
	// Rename group "b" to "0": the groups are then out of order.
	swapped := bytes.Replace(append([]byte(nil), good...), []byte{0, 0, 0, 1, 'b'}, []byte{0, 0, 0, 1, '0'}, 1)
	if _, err := Restore(c.cfg, swapped); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("groups out of order: %v", err)
	}
	for name, breakIt := range map[string]func(g *groupState){
		"leader not a member":       func(g *groupState) { g.leader = "nobody" },
		"members in Empty":          func(g *groupState) { g.state = Empty },
		"stable without assignment": func(g *groupState) { g.state = Stable; g.members["x-0000000000000001"].pendingSync = false },
		"awaiting join when stable": func(g *groupState) { g.members["x-0000000000000001"].awaitingJoin = true },
		"no shared protocol": func(g *groupState) {
			g.members["x-0000000000000001"].protocols = []Protocol{{Name: "other"}}
		},
	} {
		bad := newTestCoordinator(t, nil)
		bad.Apply(consumerJoin(0, "a", "", "x", "t"))
		breakIt(bad.groups["a"])
		if _, err := Restore(bad.cfg, bad.Snapshot()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestParkedMemberOutlivesItsSession: a member waiting in a parked Join is
// not expired by its session timeout; the rebalance deadline decides.
func TestParkedMemberOutlivesItsSession(t *testing.T) {
	c := newTestCoordinator(t, nil)
	c.Apply(consumerJoin(0, "g", "", "a", "t"))
	c.Apply(Sync{NowMs: 0, Group: "g", Generation: 1, MemberID: "a-0000000000000001"})
	j := consumerJoin(0, "g", "", "b", "t")
	j.RebalanceTimeoutMs = 60000
	if r := c.Apply(j).Result.(JoinResult); !r.Parked {
		t.Fatalf("b not parked: %+v", r)
	}
	// a keeps heartbeating (and never rejoins); b is silent while parked.
	for now := int64(5000); now < 60000; now += 5000 {
		c.Apply(Heartbeat{NowMs: now, Group: "g", Generation: 1, MemberID: "a-0000000000000001"})
		if out := c.Apply(Tick{NowMs: now}); len(out.Result.(TickResult).RemovedMembers) != 0 {
			t.Fatalf("tick at %d removed %+v", now, out.Result.(TickResult).RemovedMembers)
		}
	}
	out := c.Apply(Tick{NowMs: 60000})
	removed := out.Result.(TickResult).RemovedMembers
	if len(removed) != 1 || removed[0].MemberID != "a-0000000000000001" || removed[0].Reason != RemovedNotRejoined {
		t.Fatalf("deadline removed %+v", removed)
	}
	if len(out.Completions) != 1 || out.Completions[0].Waiter() != (Waiter{Group: "g", MemberID: "b-0000000000000002", Kind: WaitJoin}) {
		t.Fatalf("deadline completions: %s", fmtOutput(out))
	}
	if r := out.Completions[0].(JoinCompletion).Response; r.Err != nil || r.Generation != 2 || r.LeaderID != "b-0000000000000002" {
		t.Fatalf("b's join: %s", fmtJoin(r))
	}
}

// TestMemberIDsAreNeverReused: ids come from a shard-wide sequence that a
// deleted group does not reset.
func TestMemberIDsAreNeverReused(t *testing.T) {
	c := newTestCoordinator(t, nil)
	seen := map[string]bool{}
	for round := 0; round < 3; round++ {
		for _, group := range []string{"g", "h"} {
			out := c.Apply(consumerJoin(int64(round), group, "", "client", "t"))
			id := out.Result.(JoinResult).MemberID
			if id == "" || seen[id] {
				t.Fatalf("round %d group %s: member id %q (seen: %v)", round, group, id, seen[id])
			}
			seen[id] = true
			c.Apply(Leave{NowMs: int64(round), Group: group, MemberIDs: []string{id}})
		}
		c.Apply(Tick{NowMs: int64(round)}) // deletes the Empty groups
		if len(c.ListGroups()) != 0 {
			t.Fatalf("round %d: empty groups left: %+v", round, c.ListGroups())
		}
	}
}

// TestRepeatedProtocolNamesKeepTheFirst: a member listing a protocol twice
// keeps the first entry (and its metadata).
func TestRepeatedProtocolNamesKeepTheFirst(t *testing.T) {
	c := newTestCoordinator(t, nil)
	j := consumerJoin(0, "g", "", "a")
	j.Protocols = []Protocol{{Name: "range", Metadata: []byte("first")}, {Name: "range", Metadata: []byte("second")}}
	r := c.Apply(j).Result.(JoinResult)
	if r.Err != nil || len(r.Members) != 1 || string(r.Members[0].Metadata) != "first" {
		t.Fatalf("join: %s", fmtJoin(r))
	}
}
