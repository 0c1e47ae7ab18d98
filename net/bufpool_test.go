package net

import "testing"

func TestBufPool(t *testing.T) {
	p := newBufPool(3 * minPooledBytes)
	if b := p.get(minPooledBytes); b != nil {
		t.Fatalf("empty pool gave a buffer of %d bytes", cap(b))
	}
	small, large := make([]byte, 5, minPooledBytes), make([]byte, 7, 2*minPooledBytes)
	p.put(make([]byte, 0, minPooledBytes-1)) // too small to keep
	p.put(large)
	p.put(small)
	p.put(make([]byte, 0, minPooledBytes)) // over maxBytes: dropped
	if p.held != 3*minPooledBytes || len(p.free) != 2 {
		t.Fatalf("pool holds %d bytes in %d buffers, want %d in 2", p.held, len(p.free), 3*minPooledBytes)
	}
	if b := p.get(minPooledBytes / 2); b != nil {
		t.Fatalf("a request under minPooledBytes got a pooled buffer of %d bytes", cap(b))
	}
	if b := p.get(minPooledBytes + 1); cap(b) != 2*minPooledBytes || len(b) != 0 {
		t.Fatalf("get(min+1) = len %d cap %d, want the large buffer, empty", len(b), cap(b))
	}
	if b := p.get(minPooledBytes); cap(b) != minPooledBytes || len(b) != 0 {
		t.Fatalf("get(min) = len %d cap %d, want the small buffer, empty", len(b), cap(b))
	}
	if p.held != 0 || len(p.free) != 0 {
		t.Fatalf("pool still holds %d bytes in %d buffers", p.held, len(p.free))
	}
	var none *bufPool
	none.put(large)
	if none.get(minPooledBytes) != nil {
		t.Fatal("a nil pool gave a buffer")
	}
}

func TestBufPoolAllocRoundsUp(t *testing.T) {
	p := newBufPool(1 << 30)
	if b := p.alloc(100); cap(b) != 100 {
		t.Fatalf("alloc(100) has capacity %d: small buffers are not rounded", cap(b))
	}
	b := p.alloc(48<<20 + 5)
	if cap(b) != 64<<20 || len(b) != 0 {
		t.Fatalf("alloc(48 MiB + 5) = len %d cap %d, want an empty 64 MiB", len(b), cap(b))
	}
	p.put(b)
	if again := p.alloc(48<<20 + 900); cap(again) != 64<<20 {
		t.Fatalf("a slightly larger frame did not reuse the pooled one: capacity %d", cap(again))
	}
}
