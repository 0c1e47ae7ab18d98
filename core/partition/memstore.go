package partition

import (
	"sort"
	"strconv"
)

// MemStore is a Store in memory, for tests and the simulator. The zero value
// is an empty store.
type MemStore struct {
	bases   []int64
	batches [][]byte
}

var _ Store = (*MemStore)(nil)

// Append implements Store.
func (m *MemStore) Append(baseOffset int64, prefix, rest []byte) error {
	if n := len(m.bases); n > 0 && baseOffset <= m.bases[n-1] {
		panic("invariant violated: store appends increase: base offset " +
			strconv.FormatInt(baseOffset, 10) + " after " + strconv.FormatInt(m.bases[n-1], 10))
	}
	m.bases = append(m.bases, baseOffset)
	m.batches = append(m.batches, append(append(make([]byte, 0, len(prefix)+len(rest)), prefix...), rest...))
	return nil
}

// DeleteBefore implements Store.
func (m *MemStore) DeleteBefore(offset int64) error {
	i := sort.Search(len(m.bases), func(i int) bool { return m.bases[i] >= offset })
	// Copy the tail so the deleted batches can be collected.
	m.bases = append([]int64(nil), m.bases[i:]...)
	m.batches = append([][]byte(nil), m.batches[i:]...)
	return nil
}

// Scan implements Store.
func (m *MemStore) Scan(from int64, fn func(baseOffset int64, batch []byte) bool) error {
	// First index whose base is > from, then step back one to the batch
	// that may contain from.
	i := sort.Search(len(m.bases), func(i int) bool { return m.bases[i] > from })
	if i > 0 {
		i--
	}
	for ; i < len(m.bases); i++ {
		if !fn(m.bases[i], m.batches[i]) {
			return nil
		}
	}
	return nil
}

// Len is the number of stored batches.
func (m *MemStore) Len() int { return len(m.bases) }
