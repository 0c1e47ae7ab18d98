// Package partition is one Kafka partition as a deterministic state machine:
// an append-only log of record batches with dense offsets, a high
// watermark, a log start offset, idempotent-producer deduplication,
// retention and DeleteRecords. docs/core-partition.md explains it at length.
//
// What it guarantees:
//
//   - Determinism. Log.Apply(cmd) depends only on the Log's state and the
//     command; replicas applying the same commands return the same results
//     and reach the same StateHash. Time enters only as NowMs in commands.
//   - Offsets are dense and strictly increasing: a batch of n records is
//     stored at the log end offset, which then grows by n. An offset is
//     never reused, not even after every batch has been deleted.
//   - All-or-nothing for bad input: a rejected command (its Result carries
//     a *core.Error with a Kafka code) changes no state. Apply's error
//     return is reserved for Store failures, which are fatal to the replica.
//   - The batches live only in the Store. The Log holds scalars and the
//     producer table (Meta), which the runtime persists alongside the Store
//     and restores with Open, or ships with WriteSnapshot/ReadSnapshot.
//   - Stored bytes are checked when read back (CRC, framing, base offset,
//     contiguity): corrupted data is answered with KafkaStorageError, never
//     served.
//
// What it must never do: read a clock, iterate a map where the order can
// reach a result, a hash or an encoding, write into a command's bytes, or
// trust bytes from the Store, a snapshot or the Raft log without checking
// them.
//
// Files: store.go (the Store contract; MemStore in memstore.go),
// command.go (commands, results, their encodings), log.go (Apply),
// query.go (Fetch, ListOffsets, StateHash, CheckStore), meta.go (Meta and
// its encoding), snapshot.go (WriteSnapshot, ReadSnapshot), config.go.
package partition
