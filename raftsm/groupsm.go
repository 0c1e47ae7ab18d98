package raftsm

import (
	"fmt"

	"github.com/tidemark/tidemark/core/group"
)

// groupState runs one group-coordinator shard (core/group) as a wholeState.
//
// Completions (answers owed to JoinGroup and SyncGroup requests parked
// earlier) are handed to onCompletions on every replica as entries apply,
// not only to the proposer: the parked requests wait on whichever broker
// was coordinator when they arrived, and the entry that completes them may
// have been proposed by another request on that broker or by the periodic
// Tick. onCompletions runs under the state machine's lock and must not
// block.
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
	return group.EncodeOutput(out), nil
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
