package group

import (
	"fmt"
	"strings"

	"github.com/tidemark/tidemark/core"
)

// Readable renderings of results and completions for the golden tests.

var codeNames = map[core.Code]string{
	core.None:                      "NONE",
	core.UnknownTopicOrPartition:   "UNKNOWN_TOPIC_OR_PARTITION",
	OffsetMetadataTooLarge:         "OFFSET_METADATA_TOO_LARGE",
	core.InvalidTopicException:     "INVALID_TOPIC_EXCEPTION",
	core.IllegalGeneration:         "ILLEGAL_GENERATION",
	core.InconsistentGroupProtocol: "INCONSISTENT_GROUP_PROTOCOL",
	core.InvalidGroupID:            "INVALID_GROUP_ID",
	core.UnknownMemberID:           "UNKNOWN_MEMBER_ID",
	core.InvalidSessionTimeout:     "INVALID_SESSION_TIMEOUT",
	core.RebalanceInProgress:       "REBALANCE_IN_PROGRESS",
	core.InvalidCommitOffsetSize:   "INVALID_COMMIT_OFFSET_SIZE",
	core.UnsupportedVersion:        "UNSUPPORTED_VERSION",
	core.InvalidRequest:            "INVALID_REQUEST",
	core.PolicyViolation:           "POLICY_VIOLATION",
	core.NonEmptyGroup:             "NON_EMPTY_GROUP",
	core.GroupIDNotFound:           "GROUP_ID_NOT_FOUND",
	core.MemberIDRequired:          "MEMBER_ID_REQUIRED",
	core.GroupMaxSizeReached:       "GROUP_MAX_SIZE_REACHED",
}

func fmtErr(e *core.Error) string {
	if e == nil {
		return "ok"
	}
	name := codeNames[e.Code]
	if name == "" {
		name = fmt.Sprintf("CODE_%d", e.Code)
	}
	return fmt.Sprintf("%s(%d): %s", name, e.Code, e.Reason)
}

func fmtJoin(j JoinResult) string {
	if j.Parked {
		return "parked as " + j.MemberID
	}
	if j.Err != nil {
		s := fmtErr(j.Err)
		if j.MemberID != "" {
			s += " [member " + j.MemberID + "]"
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ok member=%s gen=%d type=%s protocol=%s leader=%s", j.MemberID, j.Generation, j.ProtocolType, j.Protocol, j.LeaderID)
	if j.Members != nil {
		parts := make([]string, len(j.Members))
		for i, m := range j.Members {
			parts[i] = fmt.Sprintf("%s:%s", m.MemberID, m.Metadata)
		}
		fmt.Fprintf(&b, " members=(%s)", strings.Join(parts, ", "))
	}
	return b.String()
}

func fmtSync(s SyncResult) string {
	if s.Parked {
		return "parked as " + s.MemberID
	}
	if s.Err != nil {
		return fmtErr(s.Err)
	}
	return fmt.Sprintf("ok type=%s protocol=%s assignment=%q", s.ProtocolType, s.Protocol, s.Assignment)
}

func fmtResult(r Result) string {
	switch x := r.(type) {
	case JoinResult:
		return "join: " + fmtJoin(x)
	case SyncResult:
		return "sync: " + fmtSync(x)
	case HeartbeatResult:
		return "heartbeat: " + fmtErr(x.Err)
	case LeaveResult:
		if x.Err != nil {
			return "leave: " + fmtErr(x.Err)
		}
		lines := []string{"leave:"}
		for _, m := range x.Members {
			lines = append(lines, fmt.Sprintf("  %s: %s", m.MemberID, fmtErr(m.Err)))
		}
		return strings.Join(lines, "\n")
	case CommitOffsetsResult:
		lines := []string{"commit:"}
		for _, p := range x.Partitions {
			lines = append(lines, fmt.Sprintf("  %s/%d: %s", p.Topic, p.Partition, fmtErr(p.Err)))
		}
		return strings.Join(lines, "\n")
	case TickResult:
		lines := []string{"tick:"}
		for _, m := range x.RemovedMembers {
			lines = append(lines, fmt.Sprintf("  removed %s/%s (%v)", m.Group, m.MemberID, m.Reason))
		}
		if x.ExpiredOffsets > 0 {
			lines = append(lines, fmt.Sprintf("  expired %d offsets", x.ExpiredOffsets))
		}
		for _, g := range x.DeletedGroups {
			lines = append(lines, "  deleted group "+g)
		}
		return strings.Join(lines, "\n")
	case DeleteGroupsResult:
		lines := []string{"delete:"}
		for _, g := range x.Groups {
			lines = append(lines, fmt.Sprintf("  %s: %s", g.Group, fmtErr(g.Err)))
		}
		return strings.Join(lines, "\n")
	default:
		panic(fmt.Sprintf("unknown result %T", r))
	}
}

func fmtCompletion(c Completion) string {
	switch x := c.(type) {
	case JoinCompletion:
		return fmt.Sprintf("completes join %s/%s: %s", x.Group, x.MemberID, fmtJoin(x.Response))
	case SyncCompletion:
		return fmt.Sprintf("completes sync %s/%s: %s", x.Group, x.MemberID, fmtSync(x.Response))
	default:
		panic(fmt.Sprintf("unknown completion %T", c))
	}
}

func fmtOutput(o Output) string {
	lines := []string{fmtResult(o.Result)}
	for _, c := range o.Completions {
		lines = append(lines, fmtCompletion(c))
	}
	return strings.Join(lines, "\n")
}

func fmtDescription(d GroupDescription) string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s: state=%v type=%s protocol=%s gen=%d leader=%s", d.Group, d.State, d.ProtocolType, d.Protocol, d.Generation, d.LeaderID)
	if d.OwnershipConflicts > 0 {
		fmt.Fprintf(&b, " ownership-conflicts=%d", d.OwnershipConflicts)
	}
	for _, m := range d.Members {
		fmt.Fprintf(&b, "\n  %s client=%s host=%s session=%d rebalance=%d metadata=%q assignment=%q",
			m.MemberID, m.ClientID, m.ClientHost, m.SessionTimeoutMs, m.RebalanceTimeoutMs, m.Metadata, m.Assignment)
	}
	return b.String()
}
