package raftsm

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble"

	"github.com/tidemark/tidemark/core/partition"
)

// pebbleStore is a partition.Store over the state DB for one shard.
//
// Reads go to r and writes to w. During an Update the partition state
// machine points both at one indexed batch, so that reads see the batch's
// own writes (the Store contract); between Updates r is the DB (or a pebble
// snapshot, for SaveSnapshot) and w is nil: a write then is a bug.
type pebbleStore struct {
	shardID uint64
	r       pebble.Reader
	w       *pebble.Batch
}

var _ partition.Store = (*pebbleStore)(nil)

func (s *pebbleStore) Append(baseOffset int64, prefix, rest []byte) error {
	if s.w == nil {
		panic("invariant violated: partition store written outside an update")
	}
	// Copy both parts straight into the batch's buffer: the one copy of
	// the record batch on this path.
	key := batchKey(s.shardID, baseOffset)
	op := s.w.SetDeferred(len(key), len(prefix)+len(rest))
	copy(op.Key, key)
	copy(op.Value[copy(op.Value, prefix):], rest)
	return op.Finish()
}

func (s *pebbleStore) DeleteBefore(offset int64) error {
	if s.w == nil {
		panic("invariant violated: partition store written outside an update")
	}
	if offset <= 0 {
		return nil
	}
	return s.w.DeleteRange(batchKey(s.shardID, 0), batchKey(s.shardID, offset), nil)
}

func (s *pebbleStore) Scan(from int64, fn func(baseOffset int64, batch []byte) bool) error {
	lo := batchKey(s.shardID, 0)
	hi := batchKey(s.shardID, math.MaxInt64)
	it := s.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	// The batch that may contain from is the last one whose base is <= from.
	// Offsets are never negative, so a negative from starts at the first.
	valid := from >= 0 && from < math.MaxInt64 && it.SeekLT(batchKey(s.shardID, from+1))
	if !valid {
		valid = it.First()
	}
	for ; valid; valid = it.Next() {
		k := it.Key()
		if len(k) != 17 {
			_ = it.Close()
			return fmt.Errorf("shard %d: malformed batch key %x", s.shardID, k)
		}
		if !fn(int64(binary.BigEndian.Uint64(k[9:])), it.Value()) {
			break
		}
	}
	return it.Close()
}
