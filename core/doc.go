// Package core holds every rule of Tidemark as pure, deterministic state
// machines: the partition log (core/partition), the controller's cluster
// metadata (core/controller) and the consumer-group coordinator
// (core/group). The same code runs over dragonboat in production (raftsm/)
// and over etcd raft inside the simulator (sim/).
//
// What core guarantees:
//
//   - Determinism. Given the same sequence of commands, every replica reaches
//     the same state and returns the same results, byte for byte. No map
//     iteration order, clock, random number, goroutine schedule or file
//     system reaches behaviour. Time enters inside commands (the proposer
//     stamps NowMs); anything random (ids, uuids) is drawn by the proposer
//     and carried in the command.
//   - Purity. Nothing in core starts a goroutine, takes a lock, reads a clock
//     or touches the network or a file. Partition data is stored through the
//     small partition.Store interface, which the runtime implements (in
//     memory for tests and the simulator, pebble in production). A test
//     (purity_test.go) fails the build if a core package imports os, net,
//     sync, time (beyond time.Duration), math/rand, crypto/rand, io/fs,
//     dragonboat or pebble.
//   - Stable encodings. Commands and results have a versioned binary
//     encoding (core/codec) that is round-trip tested and fuzzed; decoding
//     bytes from outside never panics.
//   - Errors as data. Bad input from clients becomes a *Error carrying a
//     Kafka error code and a one-line reason, returned inside results. core
//     panics only when one of its own invariants is broken, with a message
//     that names the invariant (see Assert).
//
// Conventions shared by the state-machine packages:
//
//   - command.go: a sealed Command interface, one small struct per command
//     kind, EncodeCommand/DecodeCommand with a leading version byte.
//   - Apply(cmd) switches explicitly on the command kind with a panicking
//     default, so a missing case shows in review.
//   - Config: every bound (sizes, counts, timeouts) is a named field with
//     its unit last (maxGroupSize, sessionTimeoutMs). Config must be equal
//     on every replica of a shard.
//   - Snapshot/restore, and StateHash for checking that replicas agree.
package core
