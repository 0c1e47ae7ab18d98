// Package raftsm runs core's state machines over dragonboat v4.
//
// One Node per broker: a dragonboat NodeHost (Raft log in dragonboat's
// pebble LogDB under <data-dir>/raft) and one pebble state DB
// (<data-dir>/state) holding the applied state of every local replica. The
// controller shard runs on every initial peer; partition shards and
// group-coordinator shards run where the controller assigns them, started
// and stopped by the Node's reconciler.
//
// Durability contract: a proposal returns only after its entry is committed
// (fsynced in the Raft log of a majority) and applied on the proposing
// replica. Applied state reaches disk in one atomic pebble batch per Update
// together with its applied index, and dragonboat compacts the Raft log
// only after the state machine's Sync, so a crash never loses an applied
// entry that the log no longer holds. See docs/guarantees.md.
package raftsm
