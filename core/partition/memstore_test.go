package partition

import (
	"math"
	"slices"
	"testing"
)

// TestMemStoreScan checks the Store contract's Scan start rule on MemStore:
// start at the last batch whose base is <= from, or at the first batch.
func TestMemStoreScan(t *testing.T) {
	s := &MemStore{}
	for _, base := range []int64{0, 3, 4, 10} {
		if err := s.Append(base, []byte{byte(base)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	scan := func(from int64, limit int) []int64 {
		var got []int64
		if err := s.Scan(from, func(base int64, b []byte) bool {
			if b[0] != byte(base) {
				t.Fatalf("batch at %d holds %d", base, b[0])
			}
			got = append(got, base)
			return len(got) < limit
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		from  int64
		limit int
		want  []int64
	}{
		{math.MinInt64, 10, []int64{0, 3, 4, 10}},
		{-5, 10, []int64{0, 3, 4, 10}},
		{0, 10, []int64{0, 3, 4, 10}},
		{2, 10, []int64{0, 3, 4, 10}},
		{3, 10, []int64{3, 4, 10}},
		{9, 10, []int64{4, 10}},
		{10, 10, []int64{10}},
		{math.MaxInt64, 10, []int64{10}},
		{3, 2, []int64{3, 4}},
	}
	for _, tc := range tests {
		if got := scan(tc.from, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("Scan(%d) limit %d = %v, want %v", tc.from, tc.limit, got, tc.want)
		}
	}
	if err := s.DeleteBefore(4); err != nil {
		t.Fatal(err)
	}
	if got := scan(0, 10); !slices.Equal(got, []int64{4, 10}) || s.Len() != 2 {
		t.Fatalf("after DeleteBefore(4): %v", got)
	}
	if err := s.DeleteBefore(11); err != nil {
		t.Fatal(err)
	}
	if got := scan(0, 10); len(got) != 0 || s.Len() != 0 {
		t.Fatalf("after DeleteBefore(11): %v", got)
	}
}

// TestMemStoreAppendCopies checks that a stored batch is prefix then rest,
// copied: the caller may reuse both slices after Append returns.
func TestMemStoreAppendCopies(t *testing.T) {
	s := &MemStore{}
	prefix, rest := []byte("head-"), []byte("tail")
	if err := s.Append(7, prefix, rest); err != nil {
		t.Fatal(err)
	}
	prefix[0], rest[0] = 'X', 'X'
	var got []byte
	if err := s.Scan(7, func(_ int64, b []byte) bool { got = b; return false }); err != nil {
		t.Fatal(err)
	}
	if string(got) != "head-tail" {
		t.Fatalf("stored %q, want %q", got, "head-tail")
	}
}
