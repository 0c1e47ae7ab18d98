package group

import (
	"fmt"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/codec"
)

// Result is the answer to the command Apply was given. The set is sealed:
// one result type per command kind.
type Result interface{ isResult() }

// JoinMember is one member in the leader's JoinGroup response.
type JoinMember struct {
	MemberID string
	// Metadata is the member's metadata for the chosen protocol.
	Metadata []byte
}

// JoinResult is a JoinGroup response.
//
// Parked means the answer is not ready: the request waits until the
// rebalance's join phase completes, and the answer arrives later as a
// JoinCompletion for (group, MemberID). MemberID is then the member's id
// (a new member's freshly assigned one). A parked result carries nothing
// else.
type JoinResult struct {
	Err    *core.Error
	Parked bool
	// MemberID is the member's id: on success, when parked, and with
	// MemberIDRequired (the id to rejoin with). Otherwise it echoes the
	// request.
	MemberID     string
	Generation   int32 // -1 on error
	ProtocolType string
	Protocol     string
	LeaderID     string
	// Members is filled for the leader only, in the order members joined
	// the group; followers get none.
	Members []JoinMember
}

// SyncResult is a SyncGroup response. Parked means the follower waits for
// the leader's SyncGroup; the answer arrives as a SyncCompletion for
// (group, MemberID).
type SyncResult struct {
	Err          *core.Error
	Parked       bool
	MemberID     string
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// HeartbeatResult is a Heartbeat response.
type HeartbeatResult struct {
	Err *core.Error
}

// MemberError is one member's outcome in a LeaveGroup response.
type MemberError struct {
	MemberID string
	Err      *core.Error
}

// LeaveResult is a LeaveGroup response: Err for the request as a whole
// (InvalidGroupID), else one entry per member id in request order. A
// v0-v2 response carries the single member's error at the top level; the
// runtime does that mapping.
type LeaveResult struct {
	Err     *core.Error
	Members []MemberError
}

// PartitionError is one partition's outcome in an OffsetCommit response.
type PartitionError struct {
	Topic     string
	Partition int32
	Err       *core.Error
}

// CommitOffsetsResult is an OffsetCommit response, one entry per offset
// in request order. A rejection of the whole request (unknown member,
// stale generation) is repeated on every partition, as Kafka's response
// carries errors only per partition.
type CommitOffsetsResult struct {
	Partitions []PartitionError
}

// RemovalReason says why the coordinator removed a member on a Tick.
type RemovalReason uint8

const (
	// RemovedSessionExpired: not heard from within its session timeout.
	RemovedSessionExpired RemovalReason = 1
	// RemovedNotRejoined: did not rejoin before the rebalance deadline.
	RemovedNotRejoined RemovalReason = 2
	// RemovedNotSynced: did not send SyncGroup within the rebalance
	// timeout after the join phase completed.
	RemovedNotSynced RemovalReason = 3
	// RemovedPendingExpired: a member id handed out with MemberIDRequired
	// that was not used to rejoin within the session timeout.
	RemovedPendingExpired RemovalReason = 4
	// RemovedLeft: the member sent LeaveGroup (reported in the reason of
	// the UnknownMemberID answering its parked requests; Leave's own result
	// lists who left).
	RemovedLeft RemovalReason = 5
)

func (r RemovalReason) String() string {
	switch r {
	case RemovedSessionExpired:
		return "session-expired"
	case RemovedNotRejoined:
		return "not-rejoined"
	case RemovedNotSynced:
		return "not-synced"
	case RemovedPendingExpired:
		return "pending-expired"
	case RemovedLeft:
		return "left"
	default:
		return fmt.Sprintf("RemovalReason(%d)", uint8(r))
	}
}

// RemovedMember names a member a Tick removed.
type RemovedMember struct {
	Group    string
	MemberID string
	Reason   RemovalReason
}

// TickResult reports what a Tick changed, for logs and the simulator's
// trace. Parked requests it answered are in the Output's completions.
type TickResult struct {
	RemovedMembers []RemovedMember
	ExpiredOffsets int
	DeletedGroups  []string
}

// GroupError is one group's outcome in a DeleteGroups response.
type GroupError struct {
	Group string
	Err   *core.Error
}

// DeleteGroupsResult is a DeleteGroups response, one entry per group in
// request order.
type DeleteGroupsResult struct {
	Groups []GroupError
}

func (JoinResult) isResult()          {}
func (SyncResult) isResult()          {}
func (HeartbeatResult) isResult()     {}
func (LeaveResult) isResult()         {}
func (CommitOffsetsResult) isResult() {}
func (TickResult) isResult()          {}
func (DeleteGroupsResult) isResult()  {}

// WaitKind says which kind of request is parked.
type WaitKind uint8

const (
	WaitJoin WaitKind = 1
	WaitSync WaitKind = 2
)

func (k WaitKind) String() string {
	switch k {
	case WaitJoin:
		return "join"
	case WaitSync:
		return "sync"
	default:
		return fmt.Sprintf("WaitKind(%d)", uint8(k))
	}
}

// Waiter names a parked request: at most one request per (Group,
// MemberID, Kind) is parked at a time.
type Waiter struct {
	Group    string
	MemberID string
	Kind     WaitKind
}

// Completion is the answer to a request parked by an earlier command. The
// set is sealed: JoinCompletion and SyncCompletion.
type Completion interface {
	// Waiter names the parked request this completion answers.
	Waiter() Waiter
	isCompletion()
}

// JoinCompletion answers the Join parked for (Group, MemberID).
type JoinCompletion struct {
	Group    string
	MemberID string
	Response JoinResult
}

// SyncCompletion answers the Sync parked for (Group, MemberID).
type SyncCompletion struct {
	Group    string
	MemberID string
	Response SyncResult
}

func (JoinCompletion) isCompletion() {}
func (SyncCompletion) isCompletion() {}

func (c JoinCompletion) Waiter() Waiter {
	return Waiter{Group: c.Group, MemberID: c.MemberID, Kind: WaitJoin}
}

func (c SyncCompletion) Waiter() Waiter {
	return Waiter{Group: c.Group, MemberID: c.MemberID, Kind: WaitSync}
}

// Output is everything one Apply produces: the answer to the command, and
// the answers owed to requests parked earlier.
//
// Contract for the runtime: deliver Completions (in order) to the waiters
// parked BEFORE this command, then, if Result is a parked JoinResult or
// SyncResult, park this command's request under its Waiter. A completion
// never answers the command that produced it, so this order matters only
// when a member re-sends a request that is still parked: the older request
// is answered (RebalanceInProgress) by a completion, the newer one parks.
type Output struct {
	Result      Result
	Completions []Completion
}

// Result and completion kind tags: stable, never reused.
const (
	resultJoin          = 1
	resultSync          = 2
	resultHeartbeat     = 3
	resultLeave         = 4
	resultCommitOffsets = 5
	resultTick          = 6
	resultDeleteGroups  = 7

	completionJoin = 1
	completionSync = 2
)

// EncodeResult returns r's stable encoding: version byte, kind, fields.
func EncodeResult(r Result) []byte {
	w := codec.NewWriter(32)
	w.Uint8(encodingVersion)
	writeResult(w, r)
	return w.Bytes()
}

// DecodeResult decodes what EncodeResult wrote; it never panics.
func DecodeResult(b []byte) (Result, error) {
	r := codec.NewReader(b)
	readVersion(r, "result")
	res := readResult(r)
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("group: decode result: %w", err)
	}
	return res, nil
}

// EncodeCompletion returns c's stable encoding.
func EncodeCompletion(c Completion) []byte {
	w := codec.NewWriter(32)
	w.Uint8(encodingVersion)
	writeCompletion(w, c)
	return w.Bytes()
}

// DecodeCompletion decodes what EncodeCompletion wrote; it never panics.
func DecodeCompletion(b []byte) (Completion, error) {
	r := codec.NewReader(b)
	readVersion(r, "completion")
	c := readCompletion(r)
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("group: decode completion: %w", err)
	}
	return c, nil
}

// EncodeOutput returns o's stable encoding: what a Raft state machine
// hands back to the proposer.
func EncodeOutput(o Output) []byte {
	w := codec.NewWriter(64)
	w.Uint8(encodingVersion)
	writeResult(w, o.Result)
	w.Count(len(o.Completions))
	for _, c := range o.Completions {
		writeCompletion(w, c)
	}
	return w.Bytes()
}

// DecodeOutput decodes what EncodeOutput wrote; it never panics.
func DecodeOutput(b []byte) (Output, error) {
	r := codec.NewReader(b)
	readVersion(r, "output")
	o := Output{Result: readResult(r)}
	if n := r.Count(maxDecodeCount, 2); n > 0 {
		o.Completions = make([]Completion, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			o.Completions = append(o.Completions, readCompletion(r))
		}
	}
	if err := r.Finish(); err != nil {
		return Output{}, fmt.Errorf("group: decode output: %w", err)
	}
	return o, nil
}

func readVersion(r *codec.Reader, what string) {
	if v := r.Uint8(); r.Err() == nil && v != encodingVersion {
		r.Fail(fmt.Errorf("group: %s encoding version %d, want %d", what, v, encodingVersion))
	}
}

func writeJoinResult(w *codec.Writer, j JoinResult) {
	core.WriteError(w, j.Err)
	w.Bool(j.Parked)
	w.String(j.MemberID)
	w.Int32(j.Generation)
	w.String(j.ProtocolType)
	w.String(j.Protocol)
	w.String(j.LeaderID)
	w.Count(len(j.Members))
	for _, m := range j.Members {
		w.String(m.MemberID)
		w.ByteString(m.Metadata)
	}
}

func readJoinResult(r *codec.Reader) JoinResult {
	j := JoinResult{Err: core.ReadError(r), Parked: r.Bool(), MemberID: r.String(maxDecodeNameBytes), Generation: r.Int32(),
		ProtocolType: r.String(maxDecodeNameBytes), Protocol: r.String(maxDecodeNameBytes), LeaderID: r.String(maxDecodeNameBytes)}
	if n := r.Count(maxDecodeCount, 8); n > 0 {
		j.Members = make([]JoinMember, n)
		for i := range j.Members {
			j.Members[i] = JoinMember{MemberID: r.String(maxDecodeNameBytes), Metadata: r.ByteString(maxDecodeBlobBytes)}
		}
	}
	return j
}

func writeSyncResult(w *codec.Writer, s SyncResult) {
	core.WriteError(w, s.Err)
	w.Bool(s.Parked)
	w.String(s.MemberID)
	w.String(s.ProtocolType)
	w.String(s.Protocol)
	w.ByteString(s.Assignment)
}

func readSyncResult(r *codec.Reader) SyncResult {
	return SyncResult{Err: core.ReadError(r), Parked: r.Bool(), MemberID: r.String(maxDecodeNameBytes),
		ProtocolType: r.String(maxDecodeNameBytes), Protocol: r.String(maxDecodeNameBytes), Assignment: r.ByteString(maxDecodeBlobBytes)}
}

func writeResult(w *codec.Writer, res Result) {
	switch x := res.(type) {
	case JoinResult:
		w.Uint8(resultJoin)
		writeJoinResult(w, x)
	case SyncResult:
		w.Uint8(resultSync)
		writeSyncResult(w, x)
	case HeartbeatResult:
		w.Uint8(resultHeartbeat)
		core.WriteError(w, x.Err)
	case LeaveResult:
		w.Uint8(resultLeave)
		core.WriteError(w, x.Err)
		w.Count(len(x.Members))
		for _, m := range x.Members {
			w.String(m.MemberID)
			core.WriteError(w, m.Err)
		}
	case CommitOffsetsResult:
		w.Uint8(resultCommitOffsets)
		w.Count(len(x.Partitions))
		for _, p := range x.Partitions {
			w.String(p.Topic)
			w.Int32(p.Partition)
			core.WriteError(w, p.Err)
		}
	case TickResult:
		w.Uint8(resultTick)
		w.Count(len(x.RemovedMembers))
		for _, m := range x.RemovedMembers {
			w.String(m.Group)
			w.String(m.MemberID)
			w.Uint8(uint8(m.Reason))
		}
		w.Int64(int64(x.ExpiredOffsets))
		w.Strings(x.DeletedGroups)
	case DeleteGroupsResult:
		w.Uint8(resultDeleteGroups)
		w.Count(len(x.Groups))
		for _, g := range x.Groups {
			w.String(g.Group)
			core.WriteError(w, g.Err)
		}
	default:
		panic(fmt.Sprintf("group: encode of unknown result %T", res))
	}
}

func readResult(r *codec.Reader) Result {
	kind := r.Uint8()
	switch kind {
	case resultJoin:
		return readJoinResult(r)
	case resultSync:
		return readSyncResult(r)
	case resultHeartbeat:
		return HeartbeatResult{Err: core.ReadError(r)}
	case resultLeave:
		x := LeaveResult{Err: core.ReadError(r)}
		if n := r.Count(maxDecodeCount, 5); n > 0 {
			x.Members = make([]MemberError, n)
			for i := range x.Members {
				x.Members[i] = MemberError{MemberID: r.String(maxDecodeNameBytes), Err: core.ReadError(r)}
			}
		}
		return x
	case resultCommitOffsets:
		var x CommitOffsetsResult
		if n := r.Count(maxDecodeCount, 9); n > 0 {
			x.Partitions = make([]PartitionError, n)
			for i := range x.Partitions {
				x.Partitions[i] = PartitionError{Topic: r.String(maxDecodeNameBytes), Partition: r.Int32(), Err: core.ReadError(r)}
			}
		}
		return x
	case resultTick:
		var x TickResult
		if n := r.Count(maxDecodeCount, 9); n > 0 {
			x.RemovedMembers = make([]RemovedMember, n)
			for i := range x.RemovedMembers {
				x.RemovedMembers[i] = RemovedMember{Group: r.String(maxDecodeNameBytes), MemberID: r.String(maxDecodeNameBytes),
					Reason: RemovalReason(r.Uint8())}
			}
		}
		expired := r.Int64()
		if expired < 0 || expired > maxDecodeBlobBytes {
			r.Fail(fmt.Errorf("group: tick result with %d expired offsets", expired))
		}
		x.ExpiredOffsets = int(expired)
		x.DeletedGroups = r.Strings(maxDecodeCount, maxDecodeNameBytes)
		return x
	case resultDeleteGroups:
		var x DeleteGroupsResult
		if n := r.Count(maxDecodeCount, 5); n > 0 {
			x.Groups = make([]GroupError, n)
			for i := range x.Groups {
				x.Groups[i] = GroupError{Group: r.String(maxDecodeNameBytes), Err: core.ReadError(r)}
			}
		}
		return x
	default:
		r.Fail(fmt.Errorf("group: unknown result kind %d", kind))
		return nil
	}
}

func writeCompletion(w *codec.Writer, c Completion) {
	switch x := c.(type) {
	case JoinCompletion:
		w.Uint8(completionJoin)
		w.String(x.Group)
		w.String(x.MemberID)
		writeJoinResult(w, x.Response)
	case SyncCompletion:
		w.Uint8(completionSync)
		w.String(x.Group)
		w.String(x.MemberID)
		writeSyncResult(w, x.Response)
	default:
		panic(fmt.Sprintf("group: encode of unknown completion %T", c))
	}
}

func readCompletion(r *codec.Reader) Completion {
	kind := r.Uint8()
	switch kind {
	case completionJoin:
		return JoinCompletion{Group: r.String(maxDecodeNameBytes), MemberID: r.String(maxDecodeNameBytes), Response: readJoinResult(r)}
	case completionSync:
		return SyncCompletion{Group: r.String(maxDecodeNameBytes), MemberID: r.String(maxDecodeNameBytes), Response: readSyncResult(r)}
	default:
		r.Fail(fmt.Errorf("group: unknown completion kind %d", kind))
		return nil
	}
}
