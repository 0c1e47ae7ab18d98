package sim

import (
	"hash/crc32"

	"go.etcd.io/raft/v3/raftpb"
)

// The simulated disk of one broker. It holds, per shard replica, what etcd
// raft asks a node to persist: the HardState, the initial snapshot (its
// ConfState) and the log entries. Every record carries a CRC-32C of its
// bytes, checked when the disk is read back at restart.
//
// Writes go to a pending list; sync moves them to the durable state. A
// crash keeps a random prefix of the pending writes (what the drive got to
// before power went), may tear the next one (its last record is written
// with garbage, so its checksum fails), and drops the rest. A corruption
// fault flips bytes of one durable entry that is not the last of its log
// (a latent sector error): a corrupt last entry would be indistinguishable
// from a torn, never-acknowledged write, which recovery drops, and dropping
// a synced entry would be unsafe (protocol-aware recovery is not modelled).
//
// Applied state (partition logs, controller and group state) is not
// persisted: a restarting replica rebuilds it by replaying its Raft log,
// so the disk never holds state ahead of the log.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type diskRecord struct {
	data []byte
	crc  uint32
}

func newRecord(b []byte) diskRecord { return diskRecord{data: b, crc: crc32.Checksum(b, crcTable)} }

func (r diskRecord) ok() bool { return crc32.Checksum(r.data, crcTable) == r.crc }

type replicaDisk struct {
	hs      diskRecord // empty data: none written
	snap    diskRecord // the latest snapshot (raftpb.Snapshot: metadata and state)
	first   uint64     // index of entries[0]
	entries []diskRecord
}

type writeKind uint8

const (
	writeHardState writeKind = iota + 1
	writeEntries
	writeSnapshot // a snapshot received from the leader: replaces the whole log
	writeOwnSnapshot
	writeCompact
)

type pendingWrite struct {
	shard   uint64
	kind    writeKind
	rec     diskRecord   // hard state or snapshot
	upTo    uint64       // compact: drop entries with index <= upTo
	first   uint64       // entries: index of ents[0]
	ents    []diskRecord // entries
	entIdxs []uint64
}

type disk struct {
	durable map[uint64]*replicaDisk // looked up by shard, never iterated
	pending []pendingWrite
}

func newDisk() *disk { return &disk{durable: make(map[uint64]*replicaDisk)} }

func (d *disk) replica(shard uint64) *replicaDisk {
	r := d.durable[shard]
	if r == nil {
		r = &replicaDisk{}
		d.durable[shard] = r
	}
	return r
}

func (d *disk) writeHardState(shard uint64, hs raftpb.HardState) {
	b, _ := hs.Marshal()
	d.pending = append(d.pending, pendingWrite{shard: shard, kind: writeHardState, rec: newRecord(b)})
}

// writeSnapshot records a snapshot. A received one (own false) replaces
// the log; one the replica took of its own state (own true) leaves the
// entries, which writeCompact trims afterwards, so that a crash between
// the two writes never leaves a log with neither.
func (d *disk) writeSnapshot(shard uint64, snap raftpb.Snapshot, own bool) {
	b, _ := snap.Marshal()
	k := writeSnapshot
	if own {
		k = writeOwnSnapshot
	}
	d.pending = append(d.pending, pendingWrite{shard: shard, kind: k, rec: newRecord(b)})
}

func (d *disk) writeCompact(shard uint64, upTo uint64) {
	d.pending = append(d.pending, pendingWrite{shard: shard, kind: writeCompact, upTo: upTo})
}

func (d *disk) writeEntries(shard uint64, ents []raftpb.Entry) {
	if len(ents) == 0 {
		return
	}
	w := pendingWrite{shard: shard, kind: writeEntries, first: ents[0].Index}
	for i := range ents {
		b, _ := ents[i].Marshal()
		w.ents = append(w.ents, newRecord(b))
	}
	d.pending = append(d.pending, w)
}

func (d *disk) apply(w pendingWrite) {
	r := d.replica(w.shard)
	switch w.kind {
	case writeHardState:
		r.hs = w.rec
	case writeSnapshot:
		r.snap = w.rec
		r.entries, r.first = nil, 0
	case writeOwnSnapshot:
		r.snap = w.rec
	case writeCompact:
		drop := 0
		for drop < len(r.entries) && r.first+uint64(drop) <= w.upTo {
			drop++
		}
		r.entries = r.entries[drop:]
		r.first += uint64(drop)
	case writeEntries:
		// A write at index i replaces the log from i on (etcd raft
		// overwrites a conflicting suffix).
		if len(r.entries) == 0 {
			r.first = w.first
		}
		keep := int(w.first - r.first)
		if keep < 0 {
			keep = 0
		}
		if keep < len(r.entries) {
			r.entries = r.entries[:keep]
		}
		r.entries = append(r.entries, w.ents...)
	}
}

// sync makes every pending write durable.
func (d *disk) sync() {
	for _, w := range d.pending {
		d.apply(w)
	}
	d.pending = d.pending[:0]
}

// crash drops pending writes: the first keep of them survive, and when
// tear is set the next one survives torn. It returns whether a write was
// torn.
func (d *disk) crash(keep int, tear bool) bool {
	keep = min(keep, len(d.pending))
	for _, w := range d.pending[:keep] {
		d.apply(w)
	}
	torn := false
	if tear && keep < len(d.pending) && d.pending[keep].kind == writeEntries {
		w := d.pending[keep]
		last := &w.ents[len(w.ents)-1]
		garbled := append([]byte(nil), last.data...)
		garbled = garbled[:len(garbled)/2]
		w.ents[len(w.ents)-1] = diskRecord{data: garbled, crc: last.crc}
		d.apply(w)
		torn = true
	}
	d.pending = nil
	return torn
}
