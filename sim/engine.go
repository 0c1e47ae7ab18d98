package sim

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
)

// event is one thing that happens at a virtual instant. Events run in
// (at, seq) order: seq is the order they were scheduled in, so two events
// at one millisecond always run in the same order.
type event struct {
	at  int64
	seq uint64
	fn  func()
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// engine is the virtual clock, the event queue, the seeded PRNG and the
// trace. Everything in a run happens inside engine.run, on one goroutine.
type engine struct {
	now    int64 // virtual milliseconds since the start of the run
	seq    uint64
	q      eventQueue
	rng    *rand.Rand
	events int64

	traceHash   uint64
	traceW      io.Writer
	traceFailed error
}

func newEngine(seed uint64, trace io.Writer) *engine {
	return &engine{
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		traceHash: 14695981039346656037,
		traceW:    trace,
	}
}

// after schedules fn delayMs from now (delayMs >= 0).
func (e *engine) after(delayMs int64, fn func()) {
	if delayMs < 0 {
		delayMs = 0
	}
	e.seq++
	heap.Push(&e.q, event{at: e.now + delayMs, seq: e.seq, fn: fn})
}

// step runs the next event; false when the queue is empty or the next
// event is after untilMs.
func (e *engine) step(untilMs int64) bool {
	if len(e.q) == 0 || e.q[0].at > untilMs {
		return false
	}
	ev := heap.Pop(&e.q).(event)
	e.now = ev.at
	e.events++
	ev.fn()
	return true
}

// trace folds one happening into the rolling trace hash (FNV-1a over the
// time, the kind and the numbers) and, when a trace file was asked for,
// writes it as a line: "<ms> <kind> <a> <b> <detail>".
func (e *engine) trace(kind string, a, b int64, detail string) {
	e.mixEvent(kind, a, b, 0, 0)
	if detail != "" {
		f := fnv.New64a()
		_, _ = f.Write([]byte(detail))
		e.mix(f.Sum64())
	}
	if e.traceW != nil && e.traceFailed == nil {
		_, e.traceFailed = fmt.Fprintf(e.traceW, "%d %s %d %d %s\n", e.now, kind, a, b, detail)
	}
}

// trace4 is trace with four numbers and no text: cheap enough for every
// message. The line is "<ms> <kind> <a> <b> <c> <d>".
func (e *engine) trace4(kind string, a, b, c, d int64) {
	e.mixEvent(kind, a, b, c, d)
	if e.traceW != nil && e.traceFailed == nil {
		_, e.traceFailed = fmt.Fprintf(e.traceW, "%d %s %d %d %d %d\n", e.now, kind, a, b, c, d)
	}
}

func (e *engine) mixEvent(kind string, a, b, c, d int64) {
	e.mix(uint64(e.now))
	h := e.traceHash
	for i := 0; i < len(kind); i++ {
		h ^= uint64(kind[i])
		h *= 1099511628211
	}
	e.traceHash = h
	e.mix(uint64(a))
	e.mix(uint64(b))
	e.mix(uint64(c))
	e.mix(uint64(d))
}

func (e *engine) mix(v uint64) {
	h := e.traceHash
	for i := 0; i < 8; i++ {
		h ^= v & 0xff
		h *= 1099511628211
		v >>= 8
	}
	e.traceHash = h
}

// chance reports true with probability p.
func (e *engine) chance(p float64) bool { return p > 0 && e.rng.Float64() < p }

// expMs draws an exponential delay with the given mean, at least 0.
func (e *engine) expMs(meanMs float64) int64 {
	if meanMs <= 0 {
		return 0
	}
	return int64(e.rng.ExpFloat64() * meanMs)
}
