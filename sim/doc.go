// Package sim will run whole Tidemark clusters inside one goroutine from one
// seed: virtual time, a simulated network and disk, fault injection, and
// seeded Kafka-like clients, over the same core state machines that run in
// production, replicated by go.etcd.io/raft/v3. Same seed, same commit, same
// trace. (Issue: sim/ deterministic simulator.)
package sim
