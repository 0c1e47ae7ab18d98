package raftsm

import (
	"fmt"
	"io"
	"sync"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// wholeState is a core state machine small enough to keep in memory and
// persist whole: the controller's metadata and a group-coordinator shard.
// Implementations are not safe for concurrent use; wholeSM serialises them.
type wholeState interface {
	// apply applies one encoded command and returns the encoded result.
	// Bad input is answered inside the result. An error means the command
	// did not decode: nothing changed (the same on every replica).
	apply(cmd []byte) ([]byte, error)
	snapshot() []byte
	restore(b []byte) error
}

// wholeSM runs a wholeState as a dragonboat IOnDiskStateMachine.
//
// Durability: Update changes memory only. Sync writes the whole state and
// the applied index in one pebble batch and flushes the state DB (which
// has no WAL; see stateDB). dragonboat calls Sync
// before it takes the (dummy) snapshot that lets it compact the Raft log,
// so every entry applied after the last Sync is still in the Raft log and
// is applied again after a crash: the state on disk is never ahead of the
// log and never loses an entry.
type wholeSM struct {
	shardID uint64
	db      *stateDB
	fresh   func() wholeState

	mu      sync.RWMutex // guards state and applied against Lookup
	state   wholeState
	applied uint64
}

var _ sm.IOnDiskStateMachine = (*wholeSM)(nil)

func newWholeSM(shardID uint64, db *stateDB, fresh func() wholeState) *wholeSM {
	return &wholeSM{shardID: shardID, db: db, fresh: fresh, state: fresh()}
}

func (w *wholeSM) Open(<-chan struct{}) (uint64, error) {
	index, b, err := readState(w.db.db, w.shardID)
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if index == 0 {
		w.state, w.applied = w.fresh(), 0
		return 0, nil
	}
	st := w.fresh()
	if err := st.restore(b); err != nil {
		return 0, fmt.Errorf("shard %d: restore persisted state at index %d: %w", w.shardID, index, err)
	}
	w.state, w.applied = st, index
	return index, nil
}

func (w *wholeSM) Update(entries []sm.Entry) ([]sm.Entry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range entries {
		if entries[i].Index <= w.applied {
			panic(fmt.Sprintf("invariant violated: applied index increases: shard %d entry %d after %d", w.shardID, entries[i].Index, w.applied))
		}
		entries[i].Result = applyResult(w.state.apply(entries[i].Cmd))
		w.applied = entries[i].Index
	}
	return entries, nil
}

// Lookup runs a read-only query against the applied state. The query is a
// func(wholeState) (any, error) supplied by this package's read helpers.
func (w *wholeSM) Lookup(q any) (any, error) {
	f, ok := q.(func(wholeState) (any, error))
	if !ok {
		return nil, fmt.Errorf("shard %d: lookup of unexpected type %T", w.shardID, q)
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return f(w.state)
}

func (w *wholeSM) Sync() error {
	w.mu.RLock()
	index, b := w.applied, w.state.snapshot()
	w.mu.RUnlock()
	if index == 0 {
		return nil
	}
	batch := w.db.db.NewBatch()
	defer batch.Close()
	if err := writeState(batch, w.shardID, index, b); err != nil {
		return err
	}
	if err := w.db.commit(batch); err != nil {
		return err
	}
	return w.db.sync()
}

type wholeSnapshot struct {
	index uint64
	state []byte
}

func (w *wholeSM) PrepareSnapshot() (any, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return wholeSnapshot{index: w.applied, state: w.state.snapshot()}, nil
}

func (w *wholeSM) SaveSnapshot(ctx any, out io.Writer, _ <-chan struct{}) error {
	s := ctx.(wholeSnapshot)
	if err := writeUint64(out, s.index); err != nil {
		return err
	}
	_, err := out.Write(s.state)
	return err
}

func (w *wholeSM) RecoverFromSnapshot(in io.Reader, _ <-chan struct{}) error {
	index, err := readUint64(in)
	if err != nil {
		return fmt.Errorf("shard %d: read snapshot index: %w", w.shardID, err)
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("shard %d: read snapshot: %w", w.shardID, err)
	}
	st := w.fresh()
	if err := st.restore(b); err != nil {
		return fmt.Errorf("shard %d: restore snapshot at index %d: %w", w.shardID, index, err)
	}
	w.mu.Lock()
	w.state, w.applied = st, index
	w.mu.Unlock()
	return w.Sync()
}

func (w *wholeSM) Close() error { return nil }
