// Package sim runs whole Tidemark clusters inside one goroutine from one
// seed: a virtual clock, an event queue, a simulated network and disk,
// fault injection and seeded Kafka-like clients, over the same core state
// machines that run in production (core/controller, core/partition,
// core/group), replicated by go.etcd.io/raft/v3 RawNodes. Same seed, same
// commit: same trace hash. docs/simulation.md explains the architecture,
// the trace, replaying a seed and adding faults and planted bugs.
//
// What it guarantees:
//
//   - Determinism. Everything random derives from the seed: one PCG for
//     the simulation, and a ChaCha8 stream installed as crypto/rand.Reader
//     for the run, which is where etcd raft draws its election jitter
//     (cryptorand.go). No map iteration order, wall clock or goroutine
//     scheduling reaches behaviour. Runs in one process are serialised.
//   - Checks. After every step: one leader per term per shard, committed
//     prefixes agree across replicas, the served high watermark never moves
//     backward, no panic (etcd raft's own log checks, core's assertions).
//     After a liveness phase (faults off, network healed, nodes restarted):
//     every shard converges within a bound with equal state hashes, and
//     every acknowledged produce is readable. Then linearizability.Check on
//     the recorded history.
//   - Planted bugs (bugs.go) are off unless a run names them.
//
// What it must never do: import raftsm or dragonboat, read the wall clock,
// or use a global random source.
//
// Files: sim.go (Run, Options, Report), engine.go (clock, queue, trace),
// cryptorand.go, params.go (swarm parameters), node.go and replica.go
// (brokers and shard replicas), handle.go and rpc.go (request handling),
// disk.go, network.go, faults.go, client.go and member.go (workloads),
// checks.go (invariants and liveness), bugs.go, hunt.go, summary.go.
package sim
