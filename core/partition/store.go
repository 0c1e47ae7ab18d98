package partition

// Store holds one partition's record batches, keyed by base offset. The
// partition state machine (Log) is its only writer; the runtime provides it:
// MemStore for tests and the simulator, pebble in production (raftsm).
//
// Contract:
//
//   - Append is called with strictly increasing base offsets, each greater
//     than the last offset of the previously appended batch. The stored
//     batch is prefix followed by rest (Log passes the header's leading
//     fields, with the base offset and leader epoch it assigned, apart from
//     the rest, which may alias a Raft entry). Both slices are valid only
//     during the call: the Store copies them.
//   - DeleteBefore(offset) removes every batch whose base offset is below
//     offset. Log only calls it with the base offset of a stored batch or
//     the log end offset, so whole batches are deleted.
//   - Reads see every write made before them through the same Store. A
//     runtime that buffers writes (a pebble batch covering several Raft
//     entries) must read through that buffer.
//   - Scan calls fn for stored batches in base-offset order, starting with
//     the last batch whose base offset is <= from (the batch that may
//     contain from) or, when there is none, the first batch. It stops when
//     fn returns false or the batches run out. The bytes passed to fn are
//     valid only during the call.
//   - Durability is the runtime's business: a Store need not be synced when
//     a method returns. The runtime syncs before acknowledging (see
//     docs/guarantees.md).
//   - A Store is used from one goroutine at a time.
//
// Errors are I/O failures (a read that fails, a corrupted key). Log treats
// them as fatal to the command and returns them to the runtime.
type Store interface {
	Append(baseOffset int64, prefix, rest []byte) error
	DeleteBefore(offset int64) error
	Scan(from int64, fn func(baseOffset int64, batch []byte) (more bool)) error
}
