package raftsm

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/tidemark/tidemark/core/partition"
)

type scanned struct {
	base  int64
	batch []byte
}

func scanAll(t *rapid.T, s partition.Store, from int64, limit int) []scanned {
	var out []scanned
	err := s.Scan(from, func(base int64, b []byte) bool {
		out = append(out, scanned{base, append([]byte(nil), b...)})
		return len(out) < limit
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// TestPebbleStoreMatchesMemStore drives the pebble Store and the in-memory
// Store with the same operations, through an indexed batch as raftsm's
// Update does, and requires identical scans, before and after commit.
func TestPebbleStoreMatchesMemStore(t *testing.T) {
	sdb, err := openStateDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.close()
	shard := uint64(0)
	rapid.Check(t, func(t *rapid.T) {
		shard++ // a fresh shard per case; neighbours must not leak in
		mem := &partition.MemStore{}
		b := sdb.db.NewIndexedBatch()
		ps := &pebbleStore{shardID: shard, r: b, w: b}
		next := int64(0)
		for i, n := 0, rapid.IntRange(1, 40).Draw(t, "ops"); i < n; i++ {
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				next += int64(rapid.IntRange(1, 5).Draw(t, "gap"))
				v := []byte(fmt.Sprintf("batch-%d", next))
				cut := rapid.IntRange(0, len(v)).Draw(t, "cut") // where Append's prefix ends
				_ = mem.Append(next, v, nil)
				if err := ps.Append(next, v[:cut], v[cut:]); err != nil {
					t.Fatal(err)
				}
			case 1:
				off := int64(rapid.IntRange(0, int(next)+2).Draw(t, "delete"))
				_ = mem.DeleteBefore(off)
				if err := ps.DeleteBefore(off); err != nil {
					t.Fatal(err)
				}
			case 2:
				from := rapid.Int64Range(math.MinInt64, int64(next)+2).Draw(t, "from")
				limit := rapid.IntRange(1, 10).Draw(t, "limit")
				want, got := scanAll(t, mem, from, limit), scanAll(t, ps, from, limit)
				if len(want) != len(got) {
					t.Fatalf("scan from %d: mem %d batches, pebble %d", from, len(want), len(got))
				}
				for j := range want {
					if want[j].base != got[j].base || !bytes.Equal(want[j].batch, got[j].batch) {
						t.Fatalf("scan from %d item %d: mem %d %q, pebble %d %q", from, j, want[j].base, want[j].batch, got[j].base, got[j].batch)
					}
				}
			}
		}
		if err := sdb.commit(b); err != nil {
			t.Fatal(err)
		}
		committed := &pebbleStore{shardID: shard, r: sdb.db}
		want, got := scanAll(t, mem, 0, 1<<20), scanAll(t, committed, 0, 1<<20)
		if len(want) != len(got) {
			t.Fatalf("after commit: mem %d batches, pebble %d", len(want), len(got))
		}
		for j := range want {
			if want[j].base != got[j].base || !bytes.Equal(want[j].batch, got[j].batch) {
				t.Fatalf("after commit item %d differs", j)
			}
		}
	})
}
