package main

import (
	"slices"
	"sync"
	"time"
)

// maxLatencySamples bounds the memory of one latency recorder (8 bytes a
// sample). Past it the recorder keeps every other sample and halves its
// sampling rate, so percentiles stay exact up to the sampling.
const maxLatencySamples = 1 << 22

// latencies records durations from many goroutines.
type latencies struct {
	mu      sync.Mutex
	samples []time.Duration
	stride  int // keep one sample in stride
	seen    int
}

func newLatencies() *latencies { return &latencies{stride: 1} }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen++
	if l.seen%l.stride != 0 {
		return
	}
	if len(l.samples) == maxLatencySamples {
		kept := l.samples[:0]
		for i := 1; i < len(l.samples); i += 2 {
			kept = append(kept, l.samples[i])
		}
		l.samples = kept
		l.stride *= 2
	}
	l.samples = append(l.samples, d)
}

// summary is the percentiles of a latency recorder.
type summary struct {
	Count               int
	P50, P99, P999, Max time.Duration
}

func (l *latencies) summary() summary {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	if len(s) == 0 {
		return summary{}
	}
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return summary{Count: l.seen, P50: at(0.50), P99: at(0.99), P999: at(0.999), Max: s[len(s)-1]}
}
