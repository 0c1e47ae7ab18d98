// Package controller is the controller's metadata state machine, Tidemark's
// take on Kafka's KRaft: registered brokers, topics and their configs, the
// assignment of every partition and group-coordinator shard to replicas, and
// producer-id allocation. Its command log is replicated by the controller
// Raft shard (ControllerShardID); every broker's reconciler reads Shards()
// and starts or stops local replicas to match.
//
// Guarantees:
//
//   - Determinism. Apply depends only on the state and the command: no map
//     iteration order, clock or randomness reaches results, snapshots or
//     StateHash. Ids that must be random (topic ids, broker incarnations)
//     are drawn by the proposer and carried in the command.
//   - Identity is never reused. Shard ids and replica ids come from
//     counters that only grow, so a deleted-then-recreated topic gets new
//     shards, and a broker whose data directory was wiped (a new
//     incarnation) rejoins every shard it held under new replica ids: it
//     forgot its votes and its log, and reusing the old ids could elect two
//     leaders in one term.
//   - Bad input is answered, not asserted. A command that fails validation
//     returns a result carrying a *core.Error with Kafka's error code and
//     leaves the state unchanged. Apply panics only when one of the
//     package's own invariants (check.go) is broken.
//   - Queries return copies; callers may keep and modify what they get.
//
// A Controller is not safe for concurrent use: the runtime serialises
// Apply, queries and Snapshot.
//
// See docs/core-controller.md for the state, the commands, the assignment
// algorithm, the id layout and the supported topic configs.
package controller
