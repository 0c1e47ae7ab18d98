package sim

import (
	"fmt"
	"slices"
	"strings"
)

// Bug names a planted bug: a known mistake compiled into the simulated
// brokers or clients, off unless a run enables it by name. They prove the
// checkers catch what they claim to (`sim bugs`, TestPlantedBugs). None of
// them lives in core: each is a wrong choice a runtime or client could
// make, planted in the simulator's own handlers and clients.
type Bug string

const (
	// BugAckBeforeCommit answers a produce when the leader appends it to
	// its log, with the offset it would get, before a quorum has it.
	BugAckBeforeCommit Bug = "ack-before-commit"
	// BugFetchPastHW returns, with a fetch at the log end, the batches
	// still uncommitted in the leader's log.
	BugFetchPastHW Bug = "fetch-past-hw"
	// BugSkipDedupe drops the producer id from idempotent batches before
	// proposing them, so retries are appended again.
	BugSkipDedupe Bug = "skip-dedupe"
	// BugAckWithoutFsync sends Raft messages and applies entries before the
	// disk write is synced, so a crash loses acknowledged entries.
	BugAckWithoutFsync Bug = "ack-without-fsync"
	// BugStaleGenerationCommit rewrites an offset commit's old generation
	// to the group's current one, so a zombie member's commit is accepted.
	BugStaleGenerationCommit Bug = "stale-generation-commit"
	// BugDeposedLeaderServes lets a replica that once led serve reads from
	// its applied state without a ReadIndex round.
	BugDeposedLeaderServes Bug = "deposed-leader-serves"
	// BugDoubleAssign makes the group leader's assignor give every
	// partition to every member.
	BugDoubleAssign Bug = "double-assign"
)

// Bugs lists every planted bug, in the order `sim bugs` runs them.
var Bugs = []Bug{
	BugAckBeforeCommit, BugFetchPastHW, BugSkipDedupe, BugAckWithoutFsync,
	BugStaleGenerationCommit, BugDeposedLeaderServes, BugDoubleAssign,
}

// ParseBug returns the bug named s.
func ParseBug(s string) (Bug, error) {
	if slices.Contains(Bugs, Bug(s)) {
		return Bug(s), nil
	}
	names := make([]string, len(Bugs))
	for i, b := range Bugs {
		names[i] = string(b)
	}
	return "", fmt.Errorf("unknown bug %q (known: %s)", s, strings.Join(names, ", "))
}

// bugFlushIntervalMs is how often a node with BugAckWithoutFsync flushes
// its disk.
const bugFlushIntervalMs = 2000

type bugSet []Bug

func (b bugSet) has(x Bug) bool { return slices.Contains(b, x) }
