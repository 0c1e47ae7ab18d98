package net

import "sync"

// bufPool recycles the large byte buffers of Fetch responses: the records
// read for each partition, which the response is written from
// (fetchFrame). Served from fresh memory, a response of 48 MiB made the
// kernel fault in every page it used (about 49,000 page faults in 2.5 s,
// most of the broker's time in memmove while one consumer read 6
// partitions; docs/benchmarks/README.md); a reused buffer is already
// mapped and needs no zeroing.
//
// The pool's buffers are mapped outside the Go heap (mapBuffer) and live
// until release: they do not raise the garbage collector's heap goal (a
// live pool of 119 MiB would let the heap grow by as much again between
// collections), and only the pages a fetch has written are resident. A
// buffer never handed back is lost to the pool, which then maps less,
// never more.
//
// The pool maps at most maxBytes in all, each buffer at least
// minPooledBytes and a power of two (partitions asked for limits a few
// KiB apart share one size, so each reuses what another handed back). Past maxBytes, or where mapping is not available, get returns
// nil and callers fall back to the Go heap; put ignores any slice the pool
// did not map. A nil *bufPool pools nothing. Safe for concurrent use.
type bufPool struct {
	maxBytes int

	mu     sync.Mutex
	mapped map[*byte][]byte // each buffer the pool mapped, whole, by its first byte
	total  int              // bytes mapped, <= maxBytes
	free   [][]byte         // mapped buffers not handed out, each of length 0
}

const (
	// minPooledBytes is the smallest buffer worth pooling: below it, an
	// allocation costs less than the pool's lock.
	minPooledBytes = 64 << 10
	// fetchPoolBytes bounds the server's pool: room for the records of
	// one response at the largest size a broker builds
	// (maxFetchResponseBytes), in buffers rounded up to powers of two.
	fetchPoolBytes = maxFetchResponseBytes + 64<<20
)

func newBufPool(maxBytes int) *bufPool {
	return &bufPool{maxBytes: maxBytes, mapped: make(map[*byte][]byte)}
}

// get returns an empty buffer with room for at least n bytes: the
// smallest free one that fits, else a newly mapped one while the pool is
// under maxBytes, else nil (a caller that appends then grows from nil, on
// the Go heap). A request under minPooledBytes always gets nil.
func (p *bufPool) get(n int) []byte {
	if p == nil || n < minPooledBytes {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.takeLocked(n); b != nil {
		return b
	}
	size := minPooledBytes
	for size < n {
		size *= 2
	}
	if p.total+size > p.maxBytes {
		return nil
	}
	b, ok := mapBuffer(size)
	if !ok {
		return nil
	}
	p.mapped[&b[:1][0]] = b
	p.total += size
	return b[:0]
}

// put takes back a buffer that get handed out; any other slice is
// left to the garbage collector. The caller must hold no other reference
// to b's memory: the next get hands it out to be overwritten.
func (p *bufPool) put(b []byte) {
	// Every buffer the pool maps is at least minPooledBytes: the frames of
	// small responses, which the writer hands back too, skip the lock.
	if p == nil || cap(b) < minPooledBytes {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.mapped[&b[:1][0]]; ok {
		p.free = append(p.free, b[:0])
	}
}

// release unmaps every buffer the pool mapped, handed out or not, and
// empties it. The caller must know that no buffer is in use any more: the
// server calls it once every connection has ended.
func (p *bufPool) release() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, b := range p.mapped {
		unmapBuffer(b)
		delete(p.mapped, k)
	}
	p.free, p.total = nil, 0
}

func (p *bufPool) takeLocked(n int) []byte {
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
	return b
}

// sameArray reports whether a and b share their first byte: whether an
// append to a buffer stayed in it.
func sameArray(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}
