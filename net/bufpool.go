package net

import "sync"

// bufPool recycles the large byte buffers of Fetch responses: the records
// read for each partition and the encoded frame. Served from fresh memory,
// a response of 48 MiB made the kernel fault in every page of both (about
// 49,000 page faults in 2.5 s, most of the broker's time in memmove while
// one consumer read 6 partitions; docs/benchmarks/README.md); a reused
// buffer is already mapped and needs no zeroing.
//
// Buffers under minPooledBytes are left to the garbage collector, and the
// pool holds at most maxBytes of buffers in all: what does not fit is
// dropped. A nil *bufPool pools nothing. Safe for concurrent use.
type bufPool struct {
	maxBytes int

	mu   sync.Mutex
	free [][]byte // each of length 0
	held int      // the capacities of free, in bytes
}

const (
	// minPooledBytes is the smallest buffer worth pooling: below it, an
	// allocation costs less than the pool's lock.
	minPooledBytes = 64 << 10
	// fetchPoolBytes bounds the server's pool: room for one response at
	// the largest size a broker builds (maxFetchResponseBytes), once as
	// records and once as a frame rounded up to 64 MiB.
	fetchPoolBytes = maxFetchResponseBytes + 64<<20
)

func newBufPool(maxBytes int) *bufPool { return &bufPool{maxBytes: maxBytes} }

// get returns an empty buffer with room for at least n bytes: the smallest
// pooled one that fits, or nil when none does (append then allocates). A
// request under minPooledBytes always gets nil.
func (p *bufPool) get(n int) []byte {
	if p == nil || n < minPooledBytes {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i, b := range p.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := p.free[best]
	last := len(p.free) - 1
	p.free[best], p.free[last] = p.free[last], nil
	p.free = p.free[:last]
	p.held -= cap(b)
	return b
}

// alloc returns an empty buffer with room for at least n bytes: a pooled
// one, or a new one whose capacity is n rounded up to a power of two when
// it is worth pooling. Frames of one consumer differ by a few KiB from one
// fetch to the next; rounding lets each reuse the one before.
func (p *bufPool) alloc(n int) []byte {
	if b := p.get(n); b != nil {
		return b
	}
	if p == nil || n < minPooledBytes {
		return make([]byte, 0, n)
	}
	c := minPooledBytes
	for c < n {
		c *= 2
	}
	return make([]byte, 0, c)
}

// put offers b's memory for reuse. The caller must hold no other reference
// to it: the next get hands it out to be overwritten.
func (p *bufPool) put(b []byte) {
	if p == nil || cap(b) < minPooledBytes {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held+cap(b) > p.maxBytes {
		return
	}
	p.free = append(p.free, b[:0])
	p.held += cap(b)
}
