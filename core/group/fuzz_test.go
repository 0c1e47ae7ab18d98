package group

import (
	"bytes"
	"testing"
)

// seedCommands covers every command kind, with and without optional
// fields.
func seedCommands() []Command {
	inst := "static-1"
	return []Command{
		Join{NowMs: 1, Group: "g", ClientID: "c", ClientHost: "/h", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 20000,
			ProtocolType: "consumer", Protocols: []Protocol{{Name: "range", Metadata: []byte("m")}, {Name: "roundrobin"}}},
		Join{NowMs: 2, Group: "g", MemberID: "c-0000000000000001", GroupInstanceID: &inst, SessionTimeoutMs: 6000,
			ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}}, RequireKnownMemberID: true},
		Sync{NowMs: 3, Group: "g", Generation: 1, MemberID: "c-0000000000000001",
			Assignments: []MemberAssignment{{MemberID: "c-0000000000000001", Assignment: []byte("a")}, {MemberID: "x"}}},
		Heartbeat{NowMs: 4, Group: "g", Generation: 1, MemberID: "c-0000000000000001"},
		Leave{NowMs: 5, Group: "g", MemberIDs: []string{"c-0000000000000001", ""}},
		CommitOffsets{NowMs: 6, Group: "g", Generation: -1, Offsets: []OffsetCommit{{Topic: "t", Partition: 0, Offset: 5, LeaderEpoch: -1, Metadata: "md"}}},
		CommitOffsets{NowMs: 6, Group: "g", Generation: -1, Offsets: []OffsetCommit{{Topic: "t", Partition: 1, Offset: 5, LeaderEpoch: -1,
			TopicID: [16]byte{15: 7}}}},
		Tick{NowMs: 7},
		DeleteGroups{NowMs: 8, Groups: []string{"g", ""}},
	}
}

// fuzzCoordinator returns a coordinator holding a Stable group "g" with
// one member (c-0000000000000001), and offsets in "g" and "solo".
func fuzzCoordinator(tb testing.TB) *Coordinator {
	cfg := DefaultConfig()
	cfg.InitialRebalanceDelayMs = 0
	c, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for _, cmd := range []Command{
		Join{NowMs: 0, Group: "g", ClientID: "c", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 20000,
			ProtocolType: "consumer", Protocols: []Protocol{{Name: "range", Metadata: []byte("m")}}},
		Sync{NowMs: 1, Group: "g", Generation: 1, MemberID: "c-0000000000000001",
			Assignments: []MemberAssignment{{MemberID: "c-0000000000000001", Assignment: []byte("a")}}},
		CommitOffsets{NowMs: 2, Group: "g", Generation: 1, MemberID: "c-0000000000000001", Offsets: []OffsetCommit{{Topic: "t", Offset: 3}}},
		CommitOffsets{NowMs: 2, Group: "solo", Generation: -1, Offsets: []OffsetCommit{{Topic: "t", Offset: 3}}},
		Join{NowMs: 3, Group: "g", ClientID: "d", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 20000,
			ProtocolType: "consumer", Protocols: []Protocol{{Name: "range", Metadata: []byte("m")}}, RequireKnownMemberID: true},
	} {
		c.Apply(cmd)
	}
	return c
}

// FuzzDecodeCommand: decoding never panics; what decodes re-encodes to
// bytes that decode to the same command; and applying any decoded command
// to a live coordinator never panics (bad input is an error result).
func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range seedCommands() {
		f.Add(EncodeCommand(cmd))
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{2, 6, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeCommand(b)
		if err != nil {
			return
		}
		enc := EncodeCommand(cmd)
		cmd2, err := DecodeCommand(enc)
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		if !bytes.Equal(EncodeCommand(cmd2), enc) {
			t.Fatalf("decode-encode-decode is not stable")
		}
		c := fuzzCoordinator(t)
		out := c.Apply(cmd)
		if _, err := DecodeOutput(EncodeOutput(out)); err != nil {
			t.Fatalf("output does not survive its encoding: %v", err)
		}
		if _, err := Restore(c.Config(), c.Snapshot()); err != nil {
			t.Fatalf("state after %T does not restore: %v", cmd, err)
		}
	})
}

// FuzzDecodeOutput: decoding results and completions never panics and is
// stable.
func FuzzDecodeOutput(f *testing.F) {
	c := fuzzCoordinator(f)
	for _, cmd := range seedCommands() {
		f.Add(EncodeOutput(c.Apply(cmd)))
	}
	f.Add(EncodeOutput(Output{Result: JoinResult{Parked: true, MemberID: "m"}, Completions: []Completion{
		JoinCompletion{Group: "g", MemberID: "m", Response: JoinResult{Members: []JoinMember{{MemberID: "m", Metadata: []byte("x")}}}},
		SyncCompletion{Group: "g", MemberID: "n", Response: SyncResult{Assignment: []byte("a")}},
	}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeOutput(b)
		if err != nil {
			return
		}
		enc := EncodeOutput(o)
		o2, err := DecodeOutput(enc)
		if err != nil || !bytes.Equal(EncodeOutput(o2), enc) {
			t.Fatalf("decode-encode-decode is not stable: %v", err)
		}
	})
}

// FuzzRestore: Restore never panics; a snapshot it accepts re-snapshots
// to the same bytes; and the restored coordinator survives commands that
// touch every group (so Restore admits no state that Apply would trip
// over).
func FuzzRestore(f *testing.F) {
	empty, err := New(DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(empty.Snapshot())
	c := fuzzCoordinator(f)
	f.Add(c.Snapshot())
	c.Apply(Join{NowMs: 10, Group: "g", ClientID: "e", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 20000,
		ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}, {Name: "rr", Metadata: []byte("x")}}})
	f.Add(c.Snapshot())
	c.Apply(Join{NowMs: 11, Group: "g", MemberID: "c-0000000000000001", ClientID: "c", SessionTimeoutMs: 10000,
		RebalanceTimeoutMs: 20000, ProtocolType: "consumer", Protocols: []Protocol{{Name: "range", Metadata: []byte("m")}}})
	f.Add(c.Snapshot())
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := DefaultConfig()
		c, err := Restore(cfg, b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Snapshot(), b) {
			t.Fatalf("an accepted snapshot does not re-snapshot to its own bytes")
		}
		for _, l := range c.ListGroups() {
			d, err := c.DescribeGroup(l.Group)
			if err != nil {
				t.Fatalf("describe %q: %v", l.Group, err)
			}
			for _, m := range d.Members {
				c.Apply(Heartbeat{NowMs: c.lastNowMs, Group: l.Group, Generation: d.Generation, MemberID: m.MemberID})
				c.Apply(Sync{NowMs: c.lastNowMs, Group: l.Group, Generation: d.Generation, MemberID: m.MemberID})
			}
			c.Apply(Join{NowMs: c.lastNowMs, Group: l.Group, ClientID: "f", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 20000,
				ProtocolType: l.ProtocolType + "x", Protocols: []Protocol{{Name: "range"}}})
			if d.LeaderID != "" {
				c.Apply(Sync{NowMs: c.lastNowMs, Group: l.Group, Generation: d.Generation, MemberID: d.LeaderID})
				c.Apply(Leave{NowMs: c.lastNowMs, Group: l.Group, MemberIDs: []string{d.LeaderID}})
			}
		}
		c.Apply(Tick{NowMs: c.lastNowMs + 1<<40})
		c.Apply(Tick{NowMs: c.lastNowMs + 1<<41})
	})
}
