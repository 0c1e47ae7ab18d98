package group

import (
	"strings"
	"testing"

	"github.com/tidemark/tidemark/core"
)

// TestHostileMemberIDKeepsOutputDecodable: a client-chosen member id is
// quoted in error reasons; however long it is, the output the Raft runtime
// hands back must decode (reasons are capped when encoded). Found in
// review: a 300,000-byte id made DecodeOutput fail.
func TestHostileMemberIDKeepsOutputDecodable(t *testing.T) {
	c, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("\x00", 300_000)
	for _, cmd := range []Command{
		Heartbeat{Group: "g", Generation: 1, MemberID: id, NowMs: 1},
		Sync{Group: "g", Generation: 1, MemberID: id, NowMs: 1},
		Leave{Group: "g", MemberIDs: []string{id}, NowMs: 1},
		CommitOffsets{Group: "g", Generation: 1, MemberID: id, NowMs: 1,
			Offsets: []OffsetCommit{{Topic: "t", Partition: 0, Offset: 1}}},
	} {
		out := c.Apply(cmd)
		got, err := DecodeOutput(EncodeOutput(out))
		if err != nil {
			t.Fatalf("%T: output does not decode: %v", cmd, err)
		}
		if e := resultErr(got.Result); e != nil && len(e.Reason) > core.MaxReasonBytes {
			t.Fatalf("%T: decoded reason of %d bytes", cmd, len(e.Reason))
		}
	}
}

// resultErr is the top-level error of a result, if it has one.
func resultErr(r Result) *core.Error {
	switch r := r.(type) {
	case HeartbeatResult:
		return r.Err
	case SyncResult:
		return r.Err
	case LeaveResult:
		return r.Err
	default:
		return nil
	}
}
