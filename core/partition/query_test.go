package partition

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// appendBatch must give what append gives, grow by at least doubling (so a
// fetch is copied a bounded number of times), and never reserve beyond
// maxBytes unless one batch alone needs more.
func TestAppendBatchIsAppendWithBoundedGrowth(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxBytes := rapid.IntRange(1, 1<<16).Draw(t, "maxBytes")
		batches := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 1, 4096), 1, 64).Draw(t, "batches")
		var got, want []byte
		for _, b := range batches {
			before := cap(got)
			got = appendBatch(got, b, maxBytes)
			want = append(want, b...)
			if cap(got) != before {
				if before > 0 && cap(got) < min(2*before, maxBytes) {
					t.Fatalf("grew from %d to %d bytes, less than doubling within maxBytes %d", before, cap(got), maxBytes)
				}
			}
			if cap(got) > max(len(got), maxBytes) {
				t.Fatalf("capacity %d beyond maxBytes %d with %d bytes held", cap(got), maxBytes, len(got))
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("appendBatch gave %d bytes differing from append's %d", len(got), len(want))
		}
	})
}
