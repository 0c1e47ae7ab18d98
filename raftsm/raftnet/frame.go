package raftnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The frame is dragonboat's TCP transport's, byte for byte, so that a
// broker on this transport and one on dragonboat's own talk to each other
// (a rolling upgrade needs nothing):
//
//	magic    2 bytes  0xAE 0x7D
//	header  18 bytes  method uint16 | payload size uint64 |
//	                  header CRC uint32 | payload CRC uint32
//	payload           a raftpb.MessageBatch (method 100) or raftpb.Chunk (200)
//
// All integers are big-endian; CRCs are CRC-32 (IEEE). The header CRC is
// taken over the 18 header bytes with its own field zeroed. A snapshot
// connection ends with a "poison" (2 zero bytes in place of the magic),
// which the receiver answers with the same 2 bytes before closing, so the
// sender knows every chunk was read.
const (
	magicBytes  = 2
	headerBytes = 18
	// prefixBytes is what precedes every payload.
	prefixBytes = magicBytes + headerBytes

	methodRaft     uint16 = 100
	methodSnapshot uint16 = 200

	// maxPayloadBytes refuses a size no sender produces before anything is
	// allocated for it: dragonboat caps a message batch at 64 MiB (a single
	// message may pass that by its own entries, up to the same limit again)
	// and a snapshot chunk at 2 MiB.
	maxPayloadBytes = 256 << 20
)

var (
	magic  = [magicBytes]byte{0xAE, 0x7D}
	poison = [magicBytes]byte{0, 0}
)

var (
	errBadFrame      = errors.New("raftnet: malformed frame")
	errChunkRejected = errors.New("raftnet: snapshot chunk rejected")
)

// putPrefix writes the magic and header of a frame of method whose payload
// is payload into dst[:prefixBytes].
func putPrefix(dst []byte, method uint16, payload []byte) {
	_ = dst[prefixBytes-1]
	copy(dst, magic[:])
	h := dst[magicBytes:prefixBytes]
	binary.BigEndian.PutUint16(h[0:], method)
	binary.BigEndian.PutUint64(h[2:], uint64(len(payload)))
	binary.BigEndian.PutUint32(h[10:], 0)
	binary.BigEndian.PutUint32(h[14:], crc32.ChecksumIEEE(payload))
	binary.BigEndian.PutUint32(h[10:], crc32.ChecksumIEEE(h))
}

// header is a decoded frame header.
type header struct {
	method     uint16
	size       uint64
	payloadCRC uint32
}

// decodeHeader checks and decodes the 18 header bytes (after the magic).
// It does not modify h.
func decodeHeader(h []byte) (header, error) {
	if len(h) != headerBytes {
		return header{}, fmt.Errorf("%w: header of %d bytes", errBadFrame, len(h))
	}
	var zeroed [headerBytes]byte
	copy(zeroed[:], h)
	binary.BigEndian.PutUint32(zeroed[10:], 0)
	if got, want := binary.BigEndian.Uint32(h[10:]), crc32.ChecksumIEEE(zeroed[:]); got != want {
		return header{}, fmt.Errorf("%w: header checksum %08x, computed %08x", errBadFrame, got, want)
	}
	hd := header{
		method:     binary.BigEndian.Uint16(h[0:]),
		size:       binary.BigEndian.Uint64(h[2:]),
		payloadCRC: binary.BigEndian.Uint32(h[14:]),
	}
	if hd.method != methodRaft && hd.method != methodSnapshot {
		return header{}, fmt.Errorf("%w: method %d", errBadFrame, hd.method)
	}
	if hd.size == 0 || hd.size > maxPayloadBytes {
		return header{}, fmt.Errorf("%w: payload of %d bytes (1 to %d)", errBadFrame, hd.size, maxPayloadBytes)
	}
	return hd, nil
}
