package group

import (
	"fmt"

	"github.com/tidemark/tidemark/core/codec"
)

// Command is one input to a group-coordinator shard. The set is sealed:
// Join, Sync, Heartbeat, Leave, CommitOffsets, Tick and DeleteGroups.
//
// Every command carries NowMs, stamped by the proposer from its clock. The
// coordinator never reads a clock: all timeouts are evaluated against the
// NowMs of the commands it applies (see Coordinator.Apply for how a clock
// that goes backwards is handled).
type Command interface {
	// stampedNowMs seals the interface and gives Apply the command's time.
	stampedNowMs() int64
}

// Protocol is one assignment protocol a member offers, in its order of
// preference (for consumers: "range", "roundrobin", "cooperative-sticky"),
// with the member's metadata for it (for consumers: the subscription).
type Protocol struct {
	Name     string
	Metadata []byte
}

// Join is a JoinGroup request.
type Join struct {
	NowMs int64
	Group string
	// MemberID is "" for a member joining for the first time.
	MemberID string
	// GroupInstanceID is Kafka's static membership id (JoinGroup v5+).
	// Static membership is not supported: a non-nil value is rejected with
	// UnsupportedVersion.
	GroupInstanceID    *string
	ClientID           string
	ClientHost         string
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32
	ProtocolType       string
	Protocols          []Protocol
	// RequireKnownMemberID is set for JoinGroup v4+: a new member first
	// gets MemberIDRequired with its id and must rejoin with it.
	RequireKnownMemberID bool
}

// MemberAssignment is the leader's assignment for one member.
type MemberAssignment struct {
	MemberID   string
	Assignment []byte
}

// Sync is a SyncGroup request. Only the leader's Assignments are read.
type Sync struct {
	NowMs       int64
	Group       string
	Generation  int32
	MemberID    string
	Assignments []MemberAssignment
}

// Heartbeat is a Heartbeat request.
type Heartbeat struct {
	NowMs      int64
	Group      string
	Generation int32
	MemberID   string
}

// Leave is a LeaveGroup request: one member id for v0-v2, a batch for v3+.
type Leave struct {
	NowMs     int64
	Group     string
	MemberIDs []string
}

// OffsetCommit is one partition's offset in a CommitOffsets.
type OffsetCommit struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32 // -1 when the client sends none
	Metadata    string
	// TopicID is the id of the topic incarnation the offset belongs to,
	// as the runtime found it when the commit arrived; zero when unknown.
	// A commit with an id drops the group's offsets of an older
	// incarnation of the topic (another non-zero id): a topic deleted and
	// created again under its name does not inherit offsets.
	TopicID [16]byte
}

// CommitOffsets is an OffsetCommit request. Generation -1 with MemberID ""
// is a standalone commit (a consumer that assigns partitions itself).
type CommitOffsets struct {
	NowMs      int64
	Group      string
	Generation int32
	MemberID   string
	Offsets    []OffsetCommit
}

// Tick lets time pass: it expires sessions and pending member ids,
// completes rebalances whose delay or deadline passed, removes members
// that never sent SyncGroup, and expires the offsets of Empty groups. The
// runtime proposes one periodically (every few hundred milliseconds);
// deadlines are only as precise as the tick interval.
type Tick struct {
	NowMs int64
}

// DeleteGroups is a DeleteGroups request.
type DeleteGroups struct {
	NowMs  int64
	Groups []string
}

func (c Join) stampedNowMs() int64          { return c.NowMs }
func (c Sync) stampedNowMs() int64          { return c.NowMs }
func (c Heartbeat) stampedNowMs() int64     { return c.NowMs }
func (c Leave) stampedNowMs() int64         { return c.NowMs }
func (c CommitOffsets) stampedNowMs() int64 { return c.NowMs }
func (c Tick) stampedNowMs() int64          { return c.NowMs }
func (c DeleteGroups) stampedNowMs() int64  { return c.NowMs }

// encodingVersion leads every encoding of this package (commands, results,
// completions, outputs, snapshots).
const encodingVersion = 1

// Decoder bounds. They only stop a hostile length from allocating more
// than the input holds; the semantic bounds are Config's, checked by
// Apply.
const (
	maxDecodeNameBytes = 1 << 20
	maxDecodeBlobBytes = 64 << 20
	maxDecodeCount     = 1 << 24
)

// Command kind tags: stable, never reused.
const (
	kindJoin          = 1
	kindSync          = 2
	kindHeartbeat     = 3
	kindLeave         = 4
	kindCommitOffsets = 5
	kindTick          = 6
	kindDeleteGroups  = 7
	// kindCommitOffsetsIDs is CommitOffsets with a topic id after each
	// offset; written only when some offset carries a non-zero id, so
	// commands without ids keep kind 5's bytes.
	kindCommitOffsetsIDs = 8
)

// EncodeCommand returns cmd's stable binary encoding: the version byte, a
// kind byte, then the fields.
func EncodeCommand(cmd Command) []byte {
	w := codec.NewWriter(64)
	w.Uint8(encodingVersion)
	switch c := cmd.(type) {
	case Join:
		w.Uint8(kindJoin)
		w.Int64(c.NowMs)
		w.String(c.Group)
		w.String(c.MemberID)
		writeNullableString(w, c.GroupInstanceID)
		w.String(c.ClientID)
		w.String(c.ClientHost)
		w.Int32(c.SessionTimeoutMs)
		w.Int32(c.RebalanceTimeoutMs)
		w.String(c.ProtocolType)
		w.Count(len(c.Protocols))
		for _, p := range c.Protocols {
			w.String(p.Name)
			w.ByteString(p.Metadata)
		}
		w.Bool(c.RequireKnownMemberID)
	case Sync:
		w.Uint8(kindSync)
		w.Int64(c.NowMs)
		w.String(c.Group)
		w.Int32(c.Generation)
		w.String(c.MemberID)
		w.Count(len(c.Assignments))
		for _, a := range c.Assignments {
			w.String(a.MemberID)
			w.ByteString(a.Assignment)
		}
	case Heartbeat:
		w.Uint8(kindHeartbeat)
		w.Int64(c.NowMs)
		w.String(c.Group)
		w.Int32(c.Generation)
		w.String(c.MemberID)
	case Leave:
		w.Uint8(kindLeave)
		w.Int64(c.NowMs)
		w.String(c.Group)
		w.Strings(c.MemberIDs)
	case CommitOffsets:
		withIDs := false
		for _, o := range c.Offsets {
			withIDs = withIDs || o.TopicID != [16]byte{}
		}
		if withIDs {
			w.Uint8(kindCommitOffsetsIDs)
		} else {
			w.Uint8(kindCommitOffsets)
		}
		w.Int64(c.NowMs)
		w.String(c.Group)
		w.Int32(c.Generation)
		w.String(c.MemberID)
		w.Count(len(c.Offsets))
		for _, o := range c.Offsets {
			w.String(o.Topic)
			w.Int32(o.Partition)
			w.Int64(o.Offset)
			w.Int32(o.LeaderEpoch)
			w.String(o.Metadata)
			if withIDs {
				writeTopicID(w, o.TopicID)
			}
		}
	case Tick:
		w.Uint8(kindTick)
		w.Int64(c.NowMs)
	case DeleteGroups:
		w.Uint8(kindDeleteGroups)
		w.Int64(c.NowMs)
		w.Strings(c.Groups)
	default:
		panic(fmt.Sprintf("group: EncodeCommand of unknown command %T", cmd))
	}
	return w.Bytes()
}

// DecodeCommand decodes what EncodeCommand wrote. It never panics: bad
// input (truncation, unknown version or kind, trailing bytes) is an error.
// Byte fields of the result alias b.
func DecodeCommand(b []byte) (Command, error) {
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != encodingVersion {
		return nil, fmt.Errorf("group: command encoding version %d, want %d", v, encodingVersion)
	}
	kind := r.Uint8()
	var cmd Command
	switch kind {
	case kindJoin:
		c := Join{NowMs: r.Int64(), Group: r.String(maxDecodeNameBytes), MemberID: r.String(maxDecodeNameBytes)}
		c.GroupInstanceID = readNullableString(r)
		c.ClientID = r.String(maxDecodeNameBytes)
		c.ClientHost = r.String(maxDecodeNameBytes)
		c.SessionTimeoutMs = r.Int32()
		c.RebalanceTimeoutMs = r.Int32()
		c.ProtocolType = r.String(maxDecodeNameBytes)
		if n := r.Count(maxDecodeCount, 8); n > 0 {
			c.Protocols = make([]Protocol, n)
			for i := range c.Protocols {
				c.Protocols[i] = Protocol{Name: r.String(maxDecodeNameBytes), Metadata: r.ByteString(maxDecodeBlobBytes)}
			}
		}
		c.RequireKnownMemberID = r.Bool()
		cmd = c
	case kindSync:
		c := Sync{NowMs: r.Int64(), Group: r.String(maxDecodeNameBytes), Generation: r.Int32(), MemberID: r.String(maxDecodeNameBytes)}
		if n := r.Count(maxDecodeCount, 8); n > 0 {
			c.Assignments = make([]MemberAssignment, n)
			for i := range c.Assignments {
				c.Assignments[i] = MemberAssignment{MemberID: r.String(maxDecodeNameBytes), Assignment: r.ByteString(maxDecodeBlobBytes)}
			}
		}
		cmd = c
	case kindHeartbeat:
		cmd = Heartbeat{NowMs: r.Int64(), Group: r.String(maxDecodeNameBytes), Generation: r.Int32(), MemberID: r.String(maxDecodeNameBytes)}
	case kindLeave:
		cmd = Leave{NowMs: r.Int64(), Group: r.String(maxDecodeNameBytes), MemberIDs: r.Strings(maxDecodeCount, maxDecodeNameBytes)}
	case kindCommitOffsets, kindCommitOffsetsIDs:
		c := CommitOffsets{NowMs: r.Int64(), Group: r.String(maxDecodeNameBytes), Generation: r.Int32(), MemberID: r.String(maxDecodeNameBytes)}
		if n := r.Count(maxDecodeCount, 24); n > 0 {
			c.Offsets = make([]OffsetCommit, n)
			for i := range c.Offsets {
				c.Offsets[i] = OffsetCommit{Topic: r.String(maxDecodeNameBytes), Partition: r.Int32(), Offset: r.Int64(),
					LeaderEpoch: r.Int32(), Metadata: r.String(maxDecodeNameBytes)}
				if kind == kindCommitOffsetsIDs {
					c.Offsets[i].TopicID = readTopicID(r)
				}
			}
		}
		cmd = c
	case kindTick:
		cmd = Tick{NowMs: r.Int64()}
	case kindDeleteGroups:
		cmd = DeleteGroups{NowMs: r.Int64(), Groups: r.Strings(maxDecodeCount, maxDecodeNameBytes)}
	default:
		r.Fail(fmt.Errorf("group: unknown command kind %d", kind))
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("group: decode command: %w", err)
	}
	return cmd, nil
}

func writeNullableString(w *codec.Writer, s *string) {
	w.Bool(s != nil)
	if s != nil {
		w.String(*s)
	}
}

func readNullableString(r *codec.Reader) *string {
	if !r.Bool() {
		return nil
	}
	s := r.String(maxDecodeNameBytes)
	return &s
}

func writeTopicID(w *codec.Writer, id [16]byte) {
	for _, b := range id {
		w.Uint8(b)
	}
}

func readTopicID(r *codec.Reader) [16]byte {
	var id [16]byte
	for i := range id {
		id[i] = r.Uint8()
	}
	return id
}
