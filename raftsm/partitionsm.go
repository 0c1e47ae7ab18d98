package raftsm

import (
	"fmt"
	"io"
	"sync"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/tidemark/tidemark/core/partition"
)

// partitionSM runs one partition replica (core/partition.Log) as a
// dragonboat IOnDiskStateMachine over the broker's state DB.
//
// Durability: each Update writes the batches it appended, the deletions it
// made and the log's metadata with the applied index in ONE pebble batch,
// committed without fsync into the state DB's memtable (the state DB has no
// WAL); Sync flushes the memtables to fsynced sstables. dragonboat calls Sync
// before compacting the Raft log, and a produce is acknowledged only after
// its Raft entry is committed, which dragonboat fsyncs on a quorum. So a
// crash can lose applied-but-unsynced state only while the Raft log still
// holds it, and the atomic batch means the state on disk is always exactly
// the state after some applied index: never a later entry without an
// earlier one (dragonboat's on-disk contract).
//
// Concurrency: Update, Sync, PrepareSnapshot and RecoverFromSnapshot are
// serialised by dragonboat; Lookup (fetches, list-offsets) runs concurrently
// and takes mu for reading, so it always sees committed state between two
// Updates. SaveSnapshot reads a pebble snapshot taken in PrepareSnapshot and
// needs no lock.
type partitionSM struct {
	shardID uint64
	db      *stateDB
	cfg     partition.Config

	mu      sync.RWMutex // guards log, store's reader/writer, applied, changed
	log     *partition.Log
	store   *pebbleStore
	applied uint64
	// changed is closed after every Update and replaced: a fetch with
	// nothing to read waits on it instead of polling.
	changed chan struct{}
}

var _ sm.IOnDiskStateMachine = (*partitionSM)(nil)

func newPartitionSM(shardID uint64, db *stateDB, cfg partition.Config) *partitionSM {
	return &partitionSM{shardID: shardID, db: db, cfg: cfg, changed: make(chan struct{})}
}

func (p *partitionSM) Open(<-chan struct{}) (uint64, error) {
	index, metaBytes, err := readState(p.db.db, p.shardID)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.store = &pebbleStore{shardID: p.shardID, r: p.db.db}
	if index == 0 {
		p.log, p.applied = partition.New(p.cfg, p.store), 0
		return 0, nil
	}
	meta, err := partition.DecodeMeta(metaBytes)
	if err != nil {
		return 0, fmt.Errorf("partition shard %d: decode persisted meta at index %d: %w", p.shardID, index, err)
	}
	p.log, p.applied = partition.Open(p.cfg, p.store, meta), index
	return index, nil
}

func (p *partitionSM) Update(entries []sm.Entry) ([]sm.Entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.db.db.NewIndexedBatch()
	defer b.Close()
	p.store.r, p.store.w = b, b
	defer func() { p.store.r, p.store.w = p.db.db, nil }()
	for i := range entries {
		if entries[i].Index <= p.applied {
			panic(fmt.Sprintf("invariant violated: applied index increases: shard %d entry %d after %d", p.shardID, entries[i].Index, p.applied))
		}
		cmd, err := partition.DecodeCommand(entries[i].Cmd)
		if err != nil {
			entries[i].Result = applyResult(nil, err)
		} else {
			res, err := p.log.Apply(cmd)
			if err != nil {
				// A storage failure: the batch is dropped, so the disk stays
				// at the previous applied index; dragonboat halts the node.
				return nil, fmt.Errorf("partition shard %d: apply entry %d: %w", p.shardID, entries[i].Index, err)
			}
			entries[i].Result = applyResult(partition.EncodeResult(res), nil)
		}
		p.applied = entries[i].Index
	}
	if err := writeState(b, p.shardID, p.applied, partition.EncodeMeta(p.log.Meta())); err != nil {
		return nil, err
	}
	if err := p.db.commit(b); err != nil {
		return nil, fmt.Errorf("partition shard %d: commit applied state at index %d: %w", p.shardID, p.applied, err)
	}
	close(p.changed)
	p.changed = make(chan struct{})
	return entries, nil
}

// Lookup runs a read-only query: a func(*partition.Log) (any, error)
// supplied by this package's read helpers.
func (p *partitionSM) Lookup(q any) (any, error) {
	f, ok := q.(func(*partition.Log) (any, error))
	if !ok {
		return nil, fmt.Errorf("partition shard %d: lookup of unexpected type %T", p.shardID, q)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return f(p.log)
}

// appliedIndex is the Raft index of the last entry this replica applied
// (or restored from a snapshot); the in-sync replica tracker compares it
// across replicas (isr.go).
func (p *partitionSM) appliedIndex() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.applied
}

// waitChan returns a channel closed by the next Update.
func (p *partitionSM) waitChan() <-chan struct{} {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.changed
}

func (p *partitionSM) Sync() error { return p.db.sync() }

type partitionSnapshot struct {
	index uint64
	meta  partition.Meta
	view  *pebble.Snapshot
}

func (p *partitionSM) PrepareSnapshot() (any, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return &partitionSnapshot{index: p.applied, meta: p.log.Meta(), view: p.db.db.NewSnapshot()}, nil
}

func (p *partitionSM) SaveSnapshot(ctx any, w io.Writer, _ <-chan struct{}) error {
	s := ctx.(*partitionSnapshot)
	defer s.view.Close()
	if err := writeUint64(w, s.index); err != nil {
		return err
	}
	return partition.WriteSnapshot(w, s.meta, &pebbleStore{shardID: p.shardID, r: s.view})
}

// RecoverFromSnapshot replaces this replica's state with a snapshot
// streamed from another replica. The whole snapshot is written in one
// pebble batch together with its applied index, so a crash mid-way leaves
// the previous state intact.
func (p *partitionSM) RecoverFromSnapshot(r io.Reader, _ <-chan struct{}) error {
	index, err := readUint64(r)
	if err != nil {
		return fmt.Errorf("partition shard %d: read snapshot index: %w", p.shardID, err)
	}
	b := p.db.db.NewIndexedBatch()
	defer b.Close()
	lo, hi := shardBounds(p.shardID)
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	store := &pebbleStore{shardID: p.shardID, r: b, w: b}
	log, err := partition.ReadSnapshot(r, store, p.cfg)
	if err != nil {
		return fmt.Errorf("partition shard %d: read snapshot at index %d: %w", p.shardID, index, err)
	}
	if err := writeState(b, p.shardID, index, partition.EncodeMeta(log.Meta())); err != nil {
		return err
	}
	if err := p.db.commit(b); err != nil {
		return fmt.Errorf("partition shard %d: commit snapshot at index %d: %w", p.shardID, index, err)
	}
	if err := p.db.sync(); err != nil {
		return fmt.Errorf("partition shard %d: sync snapshot at index %d: %w", p.shardID, index, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.store = &pebbleStore{shardID: p.shardID, r: p.db.db}
	p.log, p.applied = partition.Open(p.cfg, p.store, log.Meta()), index
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

func (p *partitionSM) Close() error { return nil }
