package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/tidemark/tidemark/core/codec"
)

// Snapshot stream layout (all integers big-endian):
//
//	version  uint8 (1)
//	meta     uint32 length, then EncodeMeta bytes
//	batches  Meta.BatchCount times: base offset int64, uint32 length, batch
//	trailer  uint32 CRC-32C of every byte before it
//
// The stream is self-delimiting: ReadSnapshot reads exactly what
// WriteSnapshot wrote, so a runtime may frame it among its own data.
const snapshotVersion = 1

// snapshotChunkBytes bounds how much ReadSnapshot allocates ahead of the
// data actually read: a length prefix alone cannot make it allocate more.
const snapshotChunkBytes = 1 << 20

var snapshotCRCTable = crc32.MakeTable(crc32.Castagnoli)

// WriteSnapshot writes m and every batch of s to w. m and s must describe
// the same point of the log: the runtime captures m with Log.Meta and a
// point-in-time view of the Store (a pebble snapshot) together, and may
// then call WriteSnapshot concurrently with later Applies to the Log, which
// touch neither m (a deep copy) nor the view. Every batch is checked
// (CRC, contiguity, count and bytes against m) as it is written, so a
// damaged store does not spread to the replicas that install the snapshot.
func WriteSnapshot(w io.Writer, m Meta, s Store) error {
	if err := validateMeta(m); err != nil {
		return fmt.Errorf("partition snapshot: %w", err)
	}
	sw := &snapshotWriter{w: w, crc: crc32.New(snapshotCRCTable)}
	meta := EncodeMeta(m)
	sw.write([]byte{snapshotVersion})
	sw.write(binary.BigEndian.AppendUint32(nil, uint32(len(meta))))
	sw.write(meta)
	seq := batchSequence{meta: m}
	var problem error
	var frame [12]byte
	err := s.Scan(scanFromOldest, func(base int64, b []byte) bool {
		if _, problem = seq.add(base, b); problem != nil {
			return false
		}
		binary.BigEndian.PutUint64(frame[:8], uint64(base))
		binary.BigEndian.PutUint32(frame[8:], uint32(len(b)))
		sw.write(frame[:])
		sw.write(b)
		return sw.err == nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("partition snapshot: scan store: %w", err)
	case problem != nil:
		return fmt.Errorf("partition snapshot: %w", problem)
	case sw.err != nil:
		return fmt.Errorf("partition snapshot: %w", sw.err)
	}
	if err := seq.finish(); err != nil {
		return fmt.Errorf("partition snapshot: %w", err)
	}
	if _, err := w.Write(binary.BigEndian.AppendUint32(nil, sw.crc.Sum32())); err != nil {
		return fmt.Errorf("partition snapshot: %w", err)
	}
	return nil
}

type snapshotWriter struct {
	w   io.Writer
	crc hash.Hash32
	err error
}

func (sw *snapshotWriter) write(b []byte) {
	if sw.err != nil {
		return
	}
	sw.crc.Write(b)
	_, sw.err = sw.w.Write(b)
}

// ReadSnapshot reads what WriteSnapshot wrote, appends the batches to s
// (which must be empty) and returns the Log. Everything read is checked: the
// snapshot is bytes from outside (another replica, over the network and its
// disk). Meta must decode and be valid, every batch must pass VerifyStored
// under its stated base offset and fit the Meta, and the trailer CRC must
// match. On error s may hold some of the batches and must be discarded.
func ReadSnapshot(r io.Reader, s Store, cfg Config) (*Log, error) {
	cfg.check()
	empty := true
	if err := s.Scan(scanFromOldest, func(int64, []byte) bool { empty = false; return false }); err != nil {
		return nil, fmt.Errorf("partition snapshot: scan target store: %w", err)
	}
	if !empty {
		return nil, errors.New("partition snapshot: target store is not empty")
	}
	crc := crc32.New(snapshotCRCTable)
	tr := io.TeeReader(r, crc)

	var head [5]byte
	if _, err := io.ReadFull(tr, head[:]); err != nil {
		return nil, fmt.Errorf("partition snapshot: header: %w", err)
	}
	if head[0] != snapshotVersion {
		return nil, fmt.Errorf("partition snapshot: unknown version %d", head[0])
	}
	metaBytes, err := readBytes(tr, binary.BigEndian.Uint32(head[1:]))
	if err != nil {
		return nil, fmt.Errorf("partition snapshot: meta: %w", err)
	}
	m, err := DecodeMeta(metaBytes)
	if err != nil {
		return nil, fmt.Errorf("partition snapshot: %w", err)
	}
	seq := batchSequence{meta: m}
	var frame [12]byte
	for i := int64(0); i < m.BatchCount; i++ {
		if _, err := io.ReadFull(tr, frame[:]); err != nil {
			return nil, fmt.Errorf("partition snapshot: batch %d: %w", i, err)
		}
		base := int64(binary.BigEndian.Uint64(frame[:8]))
		b, err := readBytes(tr, binary.BigEndian.Uint32(frame[8:]))
		if err != nil {
			return nil, fmt.Errorf("partition snapshot: batch %d at offset %d: %w", i, base, err)
		}
		if _, err := seq.add(base, b); err != nil {
			return nil, fmt.Errorf("partition snapshot: batch %d: %w", i, err)
		}
		if err := s.Append(base, b, nil); err != nil {
			return nil, fmt.Errorf("partition snapshot: store batch at offset %d: %w", base, err)
		}
	}
	if err := seq.finish(); err != nil {
		return nil, fmt.Errorf("partition snapshot: %w", err)
	}
	want := crc.Sum32()
	var trailer [4]byte
	if _, err := io.ReadFull(r, trailer[:]); err != nil {
		return nil, fmt.Errorf("partition snapshot: trailer: %w", err)
	}
	if got := binary.BigEndian.Uint32(trailer[:]); got != want {
		return nil, fmt.Errorf("partition snapshot: CRC %08x does not match its contents (%08x)", got, want)
	}
	return Open(cfg, s, m), nil
}

// readBytes reads n bytes (at most codec.MaxBytes), allocating as the data
// arrives rather than trusting n up front.
func readBytes(r io.Reader, n uint32) ([]byte, error) {
	if n > codec.MaxBytes {
		return nil, fmt.Errorf("length %d over the bound %d", n, codec.MaxBytes)
	}
	out := make([]byte, 0, min(int(n), snapshotChunkBytes))
	for len(out) < int(n) {
		chunk := min(int(n)-len(out), snapshotChunkBytes)
		out = append(out, make([]byte, chunk)...)
		if _, err := io.ReadFull(r, out[len(out)-chunk:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return out, nil
}
