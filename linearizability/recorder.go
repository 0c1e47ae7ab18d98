package linearizability

import (
	"fmt"
	"sync"
	"time"
)

// Recorder collects a history as clients run. Clients call Invoke just
// before they send a request and Complete, Fail or Abandon once they know
// its fate; an operation still pending when History is called is recorded
// as OutcomeUnknown.
//
// A Recorder is safe for concurrent use by many goroutines (real-cluster
// tests); the simulator uses it from its single goroutine. Operation ids
// are assigned in Invoke order, so they are also the order in which the
// recorder saw the calls.
//
// Times are supplied by the caller and only compared: virtual ticks in the
// simulator, MonotonicClock readings in real-cluster tests. A caller must
// read the clock for a call before sending the request and for a return
// after receiving the answer; then real-time order in the history implies
// real-time order in the system.
//
// The Input and Output values passed in are kept, not copied: callers must
// not modify them afterwards.
type Recorder struct {
	mu      sync.Mutex
	ops     []Operation
	pending []bool // pending[id]: invoked and not yet completed
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Invoke records that client called in at time at and returns the
// operation's id, which the client passes to Complete, Fail or Abandon.
func (r *Recorder) Invoke(client int, at int64, in Input) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := len(r.ops)
	r.ops = append(r.ops, Operation{ID: id, Client: client, Call: at, Outcome: OutcomeUnknown, Input: in})
	r.pending = append(r.pending, true)
	return id
}

// Complete records that operation id succeeded at time at with answer out,
// whose kind must match the operation's input.
func (r *Recorder) Complete(id int, at int64, out Output) error {
	if out == nil {
		return fmt.Errorf("complete operation %d: nil output", id)
	}
	return r.finish(id, at, OutcomeOK, out, "")
}

// Fail records that operation id definitely did not take effect (the
// broker said so) at time at. reason is kept for the reader.
func (r *Recorder) Fail(id int, at int64, reason string) error {
	return r.finish(id, at, OutcomeFailed, nil, reason)
}

// Abandon records that the client stopped waiting for operation id at
// time at without learning its fate (a timeout, a broken connection): it
// may take effect later or never.
func (r *Recorder) Abandon(id int, at int64, reason string) error {
	return r.finish(id, at, OutcomeUnknown, nil, reason)
}

func (r *Recorder) finish(id int, at int64, outcome Outcome, out Output, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id < 0 || id >= len(r.ops) {
		return fmt.Errorf("finish operation %d: no such operation", id)
	}
	if !r.pending[id] {
		return fmt.Errorf("finish operation %d: already finished", id)
	}
	op := &r.ops[id]
	if at < op.Call {
		return fmt.Errorf("finish operation %d: return time %d before call time %d", id, at, op.Call)
	}
	if out != nil && out.outputKind() != op.Input.inputKind() {
		return fmt.Errorf("finish operation %d: %s output for a %s input", id, out.outputKind(), op.Input.inputKind())
	}
	r.pending[id] = false
	op.Return = at
	op.Outcome = outcome
	op.Output = out
	op.Error = reason
	return nil
}

// History returns the operations recorded so far. Pending operations
// appear with OutcomeUnknown. The Operation slice is a copy; Inputs and
// Outputs are shared with the recorder.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := make([]Operation, len(r.ops))
	copy(ops, r.ops)
	return History{Operations: ops}
}

// MonotonicClock returns a clock for real-cluster tests: nanoseconds since
// the call to MonotonicClock, read from Go's monotonic clock, so readings
// from different goroutines compare correctly even if the wall clock jumps.
func MonotonicClock() func() int64 {
	start := time.Now()
	return func() int64 { return int64(time.Since(start)) }
}
