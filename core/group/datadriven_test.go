package group

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the golden rebalance and offset scenarios in
// testdata/*.txt. Rewrite the expected output with
//
//	go test -tags invariants ./core/group -run TestScenarios -rewrite
//
// Commands (times in ms; ids are the coordinator's, e.g.
// c1-0000000000000001):
//
//	new [delay=] [min-session=] [max-session=] [retention=] [max-groups=]
//	    [max-size=] [max-pending=] [max-offsets=] [max-meta=]
//	join g= [m=] client= now= [session=10000] [rebalance=20000] [type=consumer]
//	     [protocols=(range:meta,...)] [require-known] [instance=]
//	sync g= m= gen= now= [assign=(member:bytes,...)]
//	heartbeat g= m= gen= now=
//	leave g= members=(...) now=
//	commit g= [m=] gen= now= offsets=(topic/partition:offset,...) [meta=]
//	       [topic-id=N] (N > 0: the topic id's last byte, for every offset)
//	tick now=
//	delete groups=(...) now=
//	describe g=
//	list
//	fetch g= [parts=(topic/partition,...)]
//
// Every command is also checked to survive its encoding, its output's
// encoding, and a snapshot-restore of the state.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var c *Coordinator
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "new" {
				cfg := DefaultConfig()
				for _, a := range d.CmdArgs {
					v := intArg(t, d, a.Key)
					switch a.Key {
					case "delay":
						cfg.InitialRebalanceDelayMs = int32(v)
					case "min-session":
						cfg.MinSessionTimeoutMs = int32(v)
					case "max-session":
						cfg.MaxSessionTimeoutMs = int32(v)
					case "retention":
						cfg.OffsetsRetentionMs = v
					case "max-groups":
						cfg.MaxGroups = int(v)
					case "max-size":
						cfg.MaxGroupSize = int(v)
					case "max-pending":
						cfg.MaxPendingMembersPerGroup = int(v)
					case "max-offsets":
						cfg.MaxOffsetsPerGroup = int(v)
					case "max-meta":
						cfg.MaxOffsetMetadataBytes = int(v)
					default:
						d.Fatalf(t, "unknown config %q", a.Key)
					}
				}
				var err error
				if c, err = New(cfg); err != nil {
					d.Fatalf(t, "%v", err)
				}
				return "ok"
			}
			if c == nil {
				d.Fatalf(t, "start the file with new")
			}
			switch d.Cmd {
			case "describe":
				desc, err := c.DescribeGroup(strArg(d, "g", ""))
				if err != nil {
					return "error: " + err.Error()
				}
				return fmtDescription(desc)
			case "list":
				var lines []string
				for _, l := range c.ListGroups() {
					lines = append(lines, fmt.Sprintf("%s type=%s state=%v", l.Group, l.ProtocolType, l.State))
				}
				if len(lines) == 0 {
					return "no groups"
				}
				return strings.Join(lines, "\n")
			case "fetch":
				var offs []FetchedOffset
				var err error
				if d.HasArg("parts") {
					offs, err = c.FetchOffsets(strArg(d, "g", ""), parseParts(t, d, listArg(d, "parts")))
				} else {
					offs, err = c.FetchAllOffsets(strArg(d, "g", ""))
				}
				if err != nil {
					return "error: " + err.Error()
				}
				var lines []string
				for _, o := range offs {
					line := fmt.Sprintf("%s/%d: offset=%d epoch=%d metadata=%q committed-at=%d",
						o.Topic, o.Partition, o.Offset, o.LeaderEpoch, o.Metadata, o.CommitMs)
					if o.TopicID != ([16]byte{}) {
						line += fmt.Sprintf(" topic-id=%d", o.TopicID[15])
					}
					lines = append(lines, line)
				}
				if len(lines) == 0 {
					return "no offsets"
				}
				return strings.Join(lines, "\n")
			}
			cmd := parseCommand(t, d)
			return fmtOutput(applyChecked(t, c, cmd))
		})
	})
}

// applyChecked applies cmd through its encoding, checks the output
// survives its own, and checks a snapshot-restore round trip.
func applyChecked(t testing.TB, c *Coordinator, cmd Command) Output {
	t.Helper()
	enc := EncodeCommand(cmd)
	dec, err := DecodeCommand(enc)
	if err != nil {
		t.Fatalf("decode of encoded %T: %v", cmd, err)
	}
	if !bytes.Equal(EncodeCommand(dec), enc) {
		t.Fatalf("%T changes through its encoding", cmd)
	}
	out := c.Apply(dec)
	oenc := EncodeOutput(out)
	odec, err := DecodeOutput(oenc)
	if err != nil {
		t.Fatalf("decode of encoded output: %v", err)
	}
	if !bytes.Equal(EncodeOutput(odec), oenc) {
		t.Fatalf("output changes through its encoding")
	}
	snap := c.Snapshot()
	r, err := Restore(c.cfg, snap)
	if err != nil {
		t.Fatalf("restore of own snapshot: %v", err)
	}
	if !bytes.Equal(r.Snapshot(), snap) || r.StateHash() != c.StateHash() {
		t.Fatalf("snapshot changes through restore")
	}
	return out
}

func parseCommand(t *testing.T, d *datadriven.TestData) Command {
	now := intArg(t, d, "now")
	switch d.Cmd {
	case "join":
		j := Join{NowMs: now, Group: strArg(d, "g", ""), MemberID: strArg(d, "m", ""), ClientID: strArg(d, "client", "c"),
			ClientHost: "/10.0.0.1", SessionTimeoutMs: int32(intArgOr(t, d, "session", 10000)),
			RebalanceTimeoutMs: int32(intArgOr(t, d, "rebalance", 20000)), ProtocolType: strArg(d, "type", "consumer"),
			RequireKnownMemberID: d.HasArg("require-known")}
		if d.HasArg("instance") {
			s := strArg(d, "instance", "")
			j.GroupInstanceID = &s
		}
		protos := []string{"range:" + j.ClientID}
		if d.HasArg("protocols") {
			protos = listArg(d, "protocols")
		}
		for _, p := range protos {
			name, meta, _ := strings.Cut(p, ":")
			j.Protocols = append(j.Protocols, Protocol{Name: name, Metadata: []byte(meta)})
		}
		return j
	case "sync":
		s := Sync{NowMs: now, Group: strArg(d, "g", ""), MemberID: strArg(d, "m", ""), Generation: int32(intArg(t, d, "gen"))}
		for _, a := range listArg(d, "assign") {
			id, val, _ := strings.Cut(a, ":")
			s.Assignments = append(s.Assignments, MemberAssignment{MemberID: id, Assignment: []byte(val)})
		}
		return s
	case "heartbeat":
		return Heartbeat{NowMs: now, Group: strArg(d, "g", ""), MemberID: strArg(d, "m", ""), Generation: int32(intArg(t, d, "gen"))}
	case "leave":
		return Leave{NowMs: now, Group: strArg(d, "g", ""), MemberIDs: listArg(d, "members")}
	case "commit":
		c := CommitOffsets{NowMs: now, Group: strArg(d, "g", ""), MemberID: strArg(d, "m", ""), Generation: int32(intArg(t, d, "gen"))}
		for _, o := range listArg(d, "offsets") {
			tp, off, ok := strings.Cut(o, ":")
			if !ok {
				d.Fatalf(t, "offset %q: want topic/partition:offset", o)
			}
			p := parseParts(t, d, []string{tp})[0]
			n, err := strconv.ParseInt(off, 10, 64)
			if err != nil {
				d.Fatalf(t, "offset %q: %v", o, err)
			}
			oc := OffsetCommit{Topic: p.Topic, Partition: p.Partition, Offset: n, LeaderEpoch: -1, Metadata: strArg(d, "meta", "")}
			oc.TopicID[15] = byte(intArgOr(t, d, "topic-id", 0))
			c.Offsets = append(c.Offsets, oc)
		}
		return c
	case "tick":
		return Tick{NowMs: now}
	case "delete":
		// Raw values: an empty name is a case to test here.
		a, _ := d.Arg("groups")
		return DeleteGroups{NowMs: now, Groups: a.Vals}
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return nil
	}
}

func parseParts(t *testing.T, d *datadriven.TestData, vals []string) []TopicPartition {
	var out []TopicPartition
	for _, v := range vals {
		topic, p, ok := strings.Cut(v, "/")
		n, err := strconv.Atoi(p)
		if !ok || err != nil {
			d.Fatalf(t, "partition %q: want topic/partition", v)
		}
		out = append(out, TopicPartition{Topic: topic, Partition: int32(n)})
	}
	return out
}

func strArg(d *datadriven.TestData, key, def string) string {
	a, ok := d.Arg(key)
	if !ok || len(a.Vals) == 0 {
		return def
	}
	return a.Vals[0]
}

func listArg(d *datadriven.TestData, key string) []string {
	a, ok := d.Arg(key)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range a.Vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func intArg(t *testing.T, d *datadriven.TestData, key string) int64 {
	a, ok := d.Arg(key)
	if !ok || len(a.Vals) != 1 {
		d.Fatalf(t, "missing %s=", key)
	}
	n, err := strconv.ParseInt(a.Vals[0], 10, 64)
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return n
}

func intArgOr(t *testing.T, d *datadriven.TestData, key string, def int64) int64 {
	if !d.HasArg(key) {
		return def
	}
	return intArg(t, d, key)
}
