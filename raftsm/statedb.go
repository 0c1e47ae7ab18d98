package raftsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
)

// stateDB is the one pebble database per broker that holds the applied state
// of every local replica: partition batches and each shard's state record
// (the applied Raft index plus the state machine's metadata). dragonboat's
// own Raft log lives elsewhere (its LogDB under <data-dir>/raft).
//
// The state DB has no write-ahead log: dragonboat's Raft log is the WAL.
// Every write is a NoSync commit into the memtable, and sync flushes the
// memtables to fsynced sstables. Without this each produced batch was
// written four times per replica before compaction (Raft WAL, Raft
// memtable, state WAL, state memtable); docs/benchmarks/README.md has the
// figures. Durability holds because dragonboat calls each state machine's
// Sync before it compacts the Raft log past the applied index, so whatever
// a crash loses from the memtable is still in the Raft log and is applied
// again after Open reports the older applied index. A memtable holds whole
// pebble batches and flushes happen in order, so the state on disk is
// always the state after some applied index of each shard.
//
// Key layout (all integers big-endian, so keys sort numerically):
//
//	shardID(8) 'm'            -> state record: appliedIndex(8) then the state machine's own bytes
//	shardID(8) 'b' offset(8)  -> a partition's record batch, by base offset
//
// Everything a shard owns lies in [shardID(8), shardID+1(8)), so removing a
// replica's data is one range deletion.
type stateDB struct {
	db *pebble.DB

	// written counts commits; flushed is written's value when the last
	// flush began. sync skips the flush when nothing was written since, so
	// dragonboat's periodic Sync of many idle shards costs nothing.
	written atomic.Uint64
	syncMu  sync.Mutex // serialises flushes and guards flushed
	flushed uint64
}

const (
	kindState byte = 'm'
	kindBatch byte = 'b'
)

// stateMemTableBytes is the size of one memtable of the state DB. Batches
// are appended in key order per shard; a larger memtable turns most
// flushes into sequential runs and makes flushes rarer.
const stateMemTableBytes = 32 << 20

func openStateDB(dir string) (*stateDB, error) {
	db, err := pebble.Open(dir, &pebble.Options{
		MemTableSize: stateMemTableBytes,
		DisableWAL:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("open state db %s: %w", dir, err)
	}
	return &stateDB{db: db}, nil
}

// close flushes what was written (so a clean shutdown does not make the
// next start re-apply entries from the Raft log) and closes the DB.
func (s *stateDB) close() error {
	err := s.sync()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// commit commits b without fsync: it is durable after the next sync.
func (s *stateDB) commit(b *pebble.Batch) error {
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	s.written.Add(1)
	return nil
}

// sync makes every write committed so far durable: it flushes the
// memtables into fsynced sstables (and the manifest naming them).
func (s *stateDB) sync() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	w := s.written.Load()
	if w == s.flushed {
		return nil
	}
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("flush state db: %w", err)
	}
	s.flushed = w
	return nil
}

func shardPrefix(shardID uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 17), shardID)
}

func stateKey(shardID uint64) []byte { return append(shardPrefix(shardID), kindState) }

func batchKey(shardID uint64, offset int64) []byte {
	return binary.BigEndian.AppendUint64(append(shardPrefix(shardID), kindBatch), uint64(offset))
}

// shardBounds is the key range holding everything of shardID.
func shardBounds(shardID uint64) (lo, hi []byte) {
	return shardPrefix(shardID), shardPrefix(shardID + 1)
}

// readState returns the shard's applied index and state bytes; index 0 and
// nil when the shard has no state yet.
func readState(r pebble.Reader, shardID uint64) (uint64, []byte, error) {
	v, closer, err := r.Get(stateKey(shardID))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read state of shard %d: %w", shardID, err)
	}
	defer closer.Close()
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("state record of shard %d is %d bytes, shorter than its index", shardID, len(v))
	}
	return binary.BigEndian.Uint64(v), append([]byte(nil), v[8:]...), nil
}

// writeState records the applied index together with the state bytes; the
// caller writes it in the same batch as the state it describes.
func writeState(w pebble.Writer, shardID, appliedIndex uint64, state []byte) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(state)), appliedIndex)
	return w.Set(stateKey(shardID), append(v, state...), nil)
}

// removeShard deletes everything of shardID.
func (s *stateDB) removeShard(shardID uint64) error {
	lo, hi := shardBounds(shardID)
	if err := s.db.DeleteRange(lo, hi, pebble.NoSync); err != nil {
		return err
	}
	s.written.Add(1)
	return nil
}

// writeUint64 and readUint64 frame the applied index at the head of a
// snapshot stream.
func writeUint64(w io.Writer, v uint64) error {
	_, err := w.Write(binary.BigEndian.AppendUint64(nil, v))
	return err
}

func readUint64(r io.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[:]), nil
}
