// Package group is the consumer-group coordinator of Kafka's classic
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
// OffsetFetch, DescribeGroups, ListGroups, DeleteGroups) as a pure,
// deterministic state machine, modelled on Kafka's GroupCoordinator and
// GroupMetadata (2.x-3.x). docs/core-group.md describes the states,
// timeouts and error mapping, and where we differ from Kafka.
//
// One Coordinator is one group-coordinator shard: it holds every group
// that hashes to the shard, and the shard's Raft leader is their
// coordinator. Replicas apply the same Commands and compute the same
// Outputs; Snapshot/Restore and StateHash let them be compared and
// rebuilt.
//
// Long polls as effects. Kafka holds a JoinGroup until the whole group
// has rejoined and a follower's SyncGroup until the leader's arrives. A
// state machine cannot block, so Apply answers with an Output: the Result
// for the command, which may say "parked" (naming the Waiter it is parked
// under), and Completions, the answers owed to requests parked by earlier
// commands. The runtime keeps the waiting network requests and hands each
// completion to its waiter; a replica that is not the coordinator has no
// waiters and drops them. That a member awaits a response is state; the
// waiting request is not.
//
// Guarantees:
//
//   - Determinism: no clock, randomness or map order reaches results,
//     encodings or hashes. Time comes from each command's NowMs and never
//     goes backwards. Member ids come from a shard-wide sequence.
//   - Every parked request is answered exactly once: by a completion, or,
//     if its member re-sends it, by RebalanceInProgress while the new one
//     parks. Parked requests are answered within the group's rebalance
//     timeout (join deadline, sync deadline), given Ticks.
//   - Bad input is an error result carrying a Kafka code, never a panic;
//     decoders of bytes (commands, outputs, snapshots) never panic.
//   - Invariants are asserted where state changes: generations never
//     decrease, the leader is a member whenever there are members, a
//     Stable group's members all hold an assignment of the current
//     generation. Under core.ExpensiveChecks the whole group is re-checked
//     after every command, and consumer assignments are decoded to count
//     partitions given to two members (OwnershipConflicts).
package group
