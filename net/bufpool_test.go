package net

import (
	"runtime"
	"testing"
)

func TestBufPool(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIPPED: no anonymous mmap here; the pool falls back to the Go heap")
	}
	p := newBufPool(3 * minPooledBytes)
	if b := p.get(minPooledBytes - 1); b != nil {
		t.Fatalf("a request under minPooledBytes got a buffer of %d bytes", cap(b))
	}
	a := p.get(minPooledBytes + 1) // rounded up to 2 x minPooledBytes
	b := p.get(minPooledBytes)
	if cap(a) != 2*minPooledBytes || len(a) != 0 || cap(b) != minPooledBytes || len(b) != 0 {
		t.Fatalf("got len %d cap %d and len %d cap %d, want empty buffers of %d and %d bytes",
			len(a), cap(a), len(b), cap(b), 2*minPooledBytes, minPooledBytes)
	}
	if c := p.get(minPooledBytes); c != nil {
		t.Fatalf("the pool mapped %d bytes past its bound", cap(c))
	}
	a = append(a, "written"...)
	p.put(a)
	p.put(b)
	p.put(make([]byte, 0, 4*minPooledBytes)) // not the pool's: ignored
	if len(p.free) != 2 || p.total != 3*minPooledBytes {
		t.Fatalf("pool has %d free buffers and %d bytes mapped, want 2 and %d", len(p.free), p.total, 3*minPooledBytes)
	}
	if got := p.get(minPooledBytes); !sameArray(got, b) || len(got) != 0 {
		t.Fatal("get did not reuse the smallest free buffer that fits, emptied")
	}
	if got := p.get(minPooledBytes + 5); !sameArray(got, a) || len(got) != 0 {
		t.Fatal("get did not reuse the larger free buffer, emptied")
	}
	p.release()
	if p.total != 0 || len(p.free) != 0 || len(p.mapped) != 0 {
		t.Fatalf("after release the pool holds %d bytes, %d free, %d mapped", p.total, len(p.free), len(p.mapped))
	}
	if c := p.get(minPooledBytes); cap(c) != minPooledBytes {
		t.Fatalf("after release get mapped %d bytes, want %d", cap(c), minPooledBytes)
	}
	p.release()
	var none *bufPool
	none.release()
	none.put(a)
	if none.get(minPooledBytes) != nil {
		t.Fatal("a nil pool gave a buffer")
	}
}
