// Package linearizability checks recorded client histories of a
// Kafka-compatible system: did it keep its promises?
//
// It is fed by the simulator (sim/: one goroutine, virtual time) and by
// real-cluster fault tests (real clients, many goroutines, monotonic wall
// clock), so it imports nothing from the rest of Tidemark.
//
// A History is a list of Operations (produce, fetch, list offsets, commit,
// fetch committed offset, group assignment), each with a client, call and
// return times, an input, an output and an Outcome: ok, failed (definitely
// did not happen) or unknown (may or may not have happened, at any time
// after its call). A Recorder builds one safely from concurrent clients;
// EncodeHistory and DecodeHistory save and load it as versioned JSON.
//
// Check runs two families of checks and returns every Anomaly found:
//
//   - Linear-time checks in the style of Jepsen's Kafka workload: lost
//     writes, duplicates, two values at one offset, batches split, values
//     nobody produced or whose produce failed, reads before the write,
//     reads past the high watermark, non-monotonic offsets per producer and
//     per consumer poll sequence, key order, one owner per partition per
//     group generation, and generation fencing of committed offsets.
//   - porcupine linearizability checks of two models, split by partition:
//     a partition log (produce returns a base offset, fetch returns
//     records and a high watermark, list offsets returns the log end) and
//     committed group offsets. porcupine's Unknown (time limit hit) is an
//     anomaly, never a pass. On a failure porcupine's HTML visualisation is
//     written to Config.VisualizationDir.
//
// What each check proves, and what no check here can see, is in
// docs/linearizability.md.
//
// The checker is deterministic for a given history, except that a
// porcupine search stopped by Config.ModelTimeout depends on machine speed.
// Check may run porcupine on several goroutines; it is safe to call
// concurrently on different histories.
package linearizability
