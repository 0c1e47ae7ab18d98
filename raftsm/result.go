package raftsm

import (
	"errors"
	"fmt"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// How an applied entry's sm.Result.Value reads. Data holds the state
// machine's encoded result when the command applied, and the reason when
// it did not decode.
const (
	resultApplied     uint64 = 0
	resultUndecodable uint64 = 1
)

// applyResult wraps what a core state machine returned for one entry.
func applyResult(data []byte, decodeErr error) sm.Result {
	if decodeErr != nil {
		return sm.Result{Value: resultUndecodable, Data: []byte(decodeErr.Error())}
	}
	return sm.Result{Value: resultApplied, Data: data}
}

// ErrUndecodable is returned to a proposer whose command the state machine
// could not decode (a version this binary does not know, or corruption).
var ErrUndecodable = errors.New("raftsm: command did not decode")

// resultData unwraps a result for the proposer.
func resultData(r sm.Result) ([]byte, error) {
	switch r.Value {
	case resultApplied:
		return r.Data, nil
	case resultUndecodable:
		return nil, fmt.Errorf("%w: %s", ErrUndecodable, r.Data)
	default:
		return nil, fmt.Errorf("raftsm: unknown result value %d", r.Value)
	}
}
