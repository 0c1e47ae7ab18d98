package linearizability

import (
	"testing"
)

// Benchmarks for the performance targets of issue 5. Each builds one
// generated valid history (outside the timed loop) and checks it b.N
// times. Run with
//
//	go test -run '^$' -bench . -benchmem ./linearizability/
//
// and see docs/linearizability.md for the figures.

func benchHistory(b *testing.B, cfg genConfig) History {
	b.Helper()
	return generate(seeded(1), cfg)
}

func benchCheck(b *testing.B, h History, check func(History, Config) (Result, error)) {
	b.Helper()
	b.ResetTimer()
	for b.Loop() {
		res, err := check(h, Config{})
		if err != nil {
			b.Fatal(err)
		}
		if !res.OK() {
			b.Fatalf("valid history rejected: %s", res.String())
		}
	}
	b.ReportMetric(float64(len(h.Operations)), "ops")
}

// 10,000 operations on one partition from 10 concurrent clients: target
// under 1 s.
func BenchmarkPorcupine10k(b *testing.B) {
	h := benchHistory(b, genConfig{clients: 10, partitions: 1, ops: 10_000, unknownPct: 2, failPct: 2, maxBatch: 3, maxFetch: 5})
	benchCheck(b, h, CheckModels)
}

// 10,000 operations on one partition from 30 concurrent clients (beyond
// the target, to show where the model's limits are).
func BenchmarkPorcupine10k30Clients(b *testing.B) {
	h := benchHistory(b, genConfig{clients: 30, partitions: 1, ops: 10_000, unknownPct: 2, failPct: 2, maxBatch: 3, maxFetch: 5})
	benchCheck(b, h, CheckModels)
}

// 100,000 operations over 16 partitions from 50 clients, with consumer
// group operations: target under 5 s.
func BenchmarkPorcupine100k(b *testing.B) {
	h := benchHistory(b, genConfig{clients: 50, partitions: 16, ops: 100_000, unknownPct: 2, failPct: 2, groups: true, maxBatch: 3, maxFetch: 5})
	benchCheck(b, h, CheckModels)
}

// The linear-time checks on 1,000,000 operations (16 partitions, 50
// clients): target under 5 s.
func BenchmarkLinear1M(b *testing.B) {
	h := benchHistory(b, genConfig{clients: 50, partitions: 16, ops: 1_000_000, unknownPct: 2, failPct: 2, groups: true, maxBatch: 3, maxFetch: 5})
	benchCheck(b, h, CheckLinear)
}

// Everything (linear checks and porcupine) on the 100,000-operation
// history.
func BenchmarkCheck100k(b *testing.B) {
	h := benchHistory(b, genConfig{clients: 50, partitions: 16, ops: 100_000, unknownPct: 2, failPct: 2, groups: true, maxBatch: 3, maxFetch: 5})
	benchCheck(b, h, Check)
}
