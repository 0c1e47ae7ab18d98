package raftsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tidemark/tidemark/core/group"
)

// groupApplySeq orders group-shard applies for the waiters of parked
// requests (kafka_groups.go). It is process-wide and only grows; every
// shard applies one entry at a time, so within a shard the values follow
// apply order. Each entry's completions are delivered (the hook draws a
// value first) before the entry's own value is drawn, so "a completion
// drawn after entry E's value" means "produced by an entry applied after
// E". The values are local to this process: they are never part of the
// replicated state, only of the result handed back to the local proposer.
var groupApplySeq atomic.Uint64

// groupState runs one group-coordinator shard (core/group) as a wholeState.
//
// Completions (answers owed to JoinGroup and SyncGroup requests parked
// earlier) are handed to onCompletions on every replica as entries apply,
// not only to the proposer: the parked requests wait on whichever broker
// was coordinator when they arrived, and the entry that completes them may
// have been proposed by another request on that broker or by the periodic
// Tick. onCompletions runs under the state machine's lock and must not
// block.
//
// apply's result is the entry's groupApplySeq value followed by the
// encoded group.Output (decodeGroupApplyResult): the proposer needs the
// value to tell completions of later entries from earlier ones.
type groupState struct {
	cfg           group.Config
	c             *group.Coordinator
	onCompletions func([]group.Completion) // may be nil
}

var _ wholeState = (*groupState)(nil)

// newGroupState panics on an invalid config: the runtime validates the
// config once at startup, before any shard starts.
func newGroupState(cfg group.Config, onCompletions func([]group.Completion)) *groupState {
	c, err := group.New(cfg)
	if err != nil {
		panic(fmt.Sprintf("group shard config was not validated at startup: %v", err))
	}
	return &groupState{cfg: cfg, c: c, onCompletions: onCompletions}
}

func (s *groupState) apply(entry []byte) ([]byte, error) {
	cmd, err := group.DecodeCommand(entry)
	if err != nil {
		return nil, err
	}
	out := s.c.Apply(cmd)
	if len(out.Completions) > 0 && s.onCompletions != nil {
		s.onCompletions(out.Completions)
	}
	// Drawn after the hook: see groupApplySeq.
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 64), groupApplySeq.Add(1)), group.EncodeOutput(out)...), nil
}

func (s *groupState) snapshot() []byte { return s.c.Snapshot() }

func (s *groupState) restore(b []byte) error {
	c, err := group.Restore(s.cfg, b)
	if err != nil {
		return err
	}
	s.c = c
	return nil
}

// groupApplySeqBytes is the length of the groupApplySeq value that leads
// a group shard's apply result.
const groupApplySeqBytes = 8

// decodeGroupApplyResult splits what a group shard's apply hands back to
// the local proposer: the entry's groupApplySeq value (8 bytes, big
// endian), then group.EncodeOutput.
func decodeGroupApplyResult(b []byte) (uint64, group.Output, error) {
	if len(b) < groupApplySeqBytes {
		return 0, group.Output{}, errors.New("group shard result shorter than its sequence number")
	}
	out, err := group.DecodeOutput(b[groupApplySeqBytes:])
	return binary.BigEndian.Uint64(b), out, err
}
