// Package raftnet is the TCP transport between the brokers' Raft node
// hosts, plugged into dragonboat as its TransportFactory.
//
// It speaks dragonboat's own TCP frame (frame.go), so a broker running it
// and one running dragonboat's built-in transport talk to each other. What
// differs is the cost per frame: dragonboat writes a frame in three write
// calls (magic, header, payload) and reads it in three reads, each a system
// call, and resets a deadline timer before each. Here a frame is written in
// one call from one reused buffer and read through a buffered reader, so
// one read usually brings in several frames; at RF 3 dragonboat's transport
// was a fifth of the brokers' CPU (docs/benchmarks/README.md).
//
// Everything above the frame stays dragonboat's: which messages go into a
// batch, one connection per peer, reconnects, the deployment ID and version
// checks on receipt, and snapshot chunking.
package raftnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// Name is the transport's name as dragonboat reports it.
const Name = "tidemark-raftnet"

const (
	// readBufferBytes is each incoming connection's read buffer: a frame
	// that fits is decoded straight from it; a larger one (a big append or
	// a snapshot chunk) is read into its own buffer.
	readBufferBytes = 256 << 10
	// keptBufferBytes is the largest frame buffer a connection keeps
	// between frames, sending or receiving; a larger frame gets a buffer
	// of its own, dropped after.
	keptBufferBytes = 2 << 20
	// dialTimeout bounds connecting to a peer (dragonboat's default).
	dialTimeout = 5 * time.Second
	// writeTimeoutBase plus writeTimeoutPerChunk for every started 2 MiB
	// bound writing one frame: a peer that stops reading makes the send
	// fail, and dragonboat reconnects (its own transport allows the same).
	writeTimeoutBase     = 3 * time.Second
	writeTimeoutPerChunk = 5 * time.Second
	writeTimeoutChunk    = 2 << 20
	// poisonAckTimeout bounds how long closing a snapshot connection waits
	// for the receiver to confirm it read everything.
	poisonAckTimeout = 10 * time.Second
	// acceptRetryDelay is the pause after a failed accept.
	acceptRetryDelay = 100 * time.Millisecond
	// keepAlivePeriod lets TCP find a peer host that went away while a
	// connection was idle.
	keepAlivePeriod = 10 * time.Second
)

// Factory creates the transport for a NodeHost: set it as
// config.NodeHostConfig.Expert.TransportFactory.
type Factory struct {
	Log *slog.Logger // nil: slog.Default()
}

var _ config.TransportFactory = (*Factory)(nil)

// Create implements config.TransportFactory.
func (f *Factory) Create(nhc config.NodeHostConfig, onBatch raftio.MessageHandler, onChunk raftio.ChunkHandler) raftio.ITransport {
	log := f.Log
	if log == nil {
		log = slog.Default()
	}
	return &Transport{nhc: nhc, onBatch: onBatch, onChunk: onChunk, log: log.With("component", "raftnet"), conns: map[net.Conn]struct{}{}}
}

// Validate reports whether addr is a host:port a peer can be dialled at.
// dragonboat calls it for the source address of every message it
// receives, so it is kept cheap (its default is a regular expression).
func (f *Factory) Validate(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return err == nil && p > 0
}

// Transport is one NodeHost's listener and its outgoing connections.
type Transport struct {
	nhc     config.NodeHostConfig
	onBatch raftio.MessageHandler
	onChunk raftio.ChunkHandler
	log     *slog.Logger

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{} // accepted and still served; closed by Close
	closed bool
	wg     sync.WaitGroup // the accept loop and every serve loop
}

var _ raftio.ITransport = (*Transport)(nil)

// Name implements raftio.ITransport.
func (t *Transport) Name() string { return Name }

// Start listens on the NodeHost's listen address and serves every peer
// that connects.
func (t *Transport) Start() error {
	if t.nhc.MutualTLS {
		return errors.New("raftnet: mutual TLS between brokers is not supported")
	}
	ln, err := net.Listen("tcp", t.nhc.GetListenAddress())
	if err != nil {
		return fmt.Errorf("raftnet: listen: %w", err)
	}
	t.mu.Lock()
	t.ln = ln
	t.mu.Unlock()
	t.wg.Add(1)
	go t.accept(ln)
	return nil
}

// Close stops accepting, closes every incoming connection and waits for
// their serve loops. Outgoing connections belong to dragonboat, which
// closes them itself.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	var err error
	if t.ln != nil {
		err = t.ln.Close()
	}
	for c := range t.conns {
		_ = c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}

func (t *Transport) accept(ln net.Listener) {
	defer t.wg.Done()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, say: peers keep redialling, so
			// wait and accept again rather than stop for good.
			t.log.Warn("accepting a Raft connection failed; retrying", "err", err, "retry_in", acceptRetryDelay)
			time.Sleep(acceptRetryDelay)
			continue
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			_ = c.Close()
			return
		}
		t.conns[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go func() {
			defer t.wg.Done()
			// A peer that restarts or gives up on a connection resets it:
			// only what the peer sent wrong is worth a line.
			if err := t.serve(c); errors.Is(err, errBadFrame) || errors.Is(err, errChunkRejected) {
				t.log.Warn("closing Raft connection", "peer", c.RemoteAddr().String(), "err", err)
			}
			t.mu.Lock()
			delete(t.conns, c)
			t.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// serve reads frames from c until it ends, fails, or carries something
// malformed (then the connection is dropped and dragonboat's sender
// reconnects, as with its own transport). A frame that fits the read
// buffer is decoded in place: the raftpb decoders copy every byte slice
// they keep, so the buffer is free again once a frame is handed over.
func (t *Transport) serve(c net.Conn) error {
	r := bufio.NewReaderSize(c, readBufferBytes)
	var large []byte // reused for frames larger than the read buffer
	for {
		m, err := r.Peek(magicBytes)
		if err != nil {
			return err
		}
		if [magicBytes]byte(m) == poison {
			// The sender's snapshot stream is complete: confirm and end.
			if err := c.SetWriteDeadline(time.Now().Add(writeTimeoutBase)); err != nil {
				return err
			}
			_, err := c.Write(poison[:])
			return err
		}
		if [magicBytes]byte(m) != magic {
			return fmt.Errorf("%w: magic %x", errBadFrame, m)
		}
		prefix, err := r.Peek(prefixBytes)
		if err != nil {
			return err
		}
		h, err := decodeHeader(prefix[magicBytes:])
		if err != nil {
			return err
		}
		if _, err := r.Discard(prefixBytes); err != nil {
			return err
		}
		var payload []byte
		inPlace := h.size <= uint64(r.Size())
		if inPlace {
			if payload, err = r.Peek(int(h.size)); err != nil {
				return err
			}
		} else {
			if uint64(cap(large)) < h.size {
				large = make([]byte, h.size)
			}
			payload = large[:h.size]
			if _, err := io.ReadFull(r, payload); err != nil {
				return err
			}
		}
		if got := crc32.ChecksumIEEE(payload); got != h.payloadCRC {
			return fmt.Errorf("%w: payload checksum %08x, header says %08x", errBadFrame, got, h.payloadCRC)
		}
		if err := t.deliver(h.method, payload); err != nil {
			return err
		}
		if inPlace {
			if _, err := r.Discard(int(h.size)); err != nil {
				return err
			}
		}
		if cap(large) > keptBufferBytes {
			large = nil
		}
	}
}

// deliver decodes one payload and hands it to dragonboat.
func (t *Transport) deliver(method uint16, payload []byte) error {
	if method == methodRaft {
		var b pb.MessageBatch
		if err := b.Unmarshal(payload); err != nil {
			return fmt.Errorf("%w: message batch: %v", errBadFrame, err)
		}
		t.onBatch(b)
		return nil
	}
	var ch pb.Chunk
	if err := ch.Unmarshal(payload); err != nil {
		return fmt.Errorf("%w: snapshot chunk: %v", errBadFrame, err)
	}
	if !t.onChunk(ch) {
		return fmt.Errorf("%w: chunk %d of shard %d", errChunkRejected, ch.ChunkId, ch.ShardID)
	}
	return nil
}

// GetConnection implements raftio.ITransport: a connection for message
// batches to target.
func (t *Transport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	c, err := dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &conn{sender: sender{c: c}}, nil
}

// GetSnapshotConnection implements raftio.ITransport: a connection for
// the chunks of one snapshot to target.
func (t *Transport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	c, err := dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &snapshotConn{sender: sender{c: c}}, nil
}

func dial(ctx context.Context, target string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlivePeriod}
	c, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		// Drop unsent data on close rather than linger: dragonboat closes
		// a connection after a failed send and dials afresh.
		if err := tc.SetLinger(0); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// sender writes whole frames to one connection. dragonboat calls a
// connection from one goroutine at a time.
type sender struct {
	c   net.Conn
	buf []byte // kept between frames up to keptBufferBytes
}

// send marshals a payload of at most size bytes behind a frame prefix and
// writes the frame in one call.
func (s *sender) send(method uint16, size int, marshal func([]byte) (int, error)) error {
	need := prefixBytes + size
	buf := s.buf
	if cap(buf) < need {
		buf = make([]byte, need)
		if need <= keptBufferBytes {
			s.buf = buf
		}
	}
	buf = buf[:need]
	n, err := marshal(buf[prefixBytes:])
	if err != nil {
		return err
	}
	frame := buf[:prefixBytes+n]
	putPrefix(frame, method, frame[prefixBytes:])
	chunks := time.Duration(len(frame)/writeTimeoutChunk + 1)
	if err := s.c.SetWriteDeadline(time.Now().Add(writeTimeoutBase + chunks*writeTimeoutPerChunk)); err != nil {
		return err
	}
	_, err = s.c.Write(frame)
	return err
}

// conn carries message batches.
type conn struct{ sender }

var _ raftio.IConnection = (*conn)(nil)

func (c *conn) Close() { _ = c.c.Close() }

func (c *conn) SendMessageBatch(b pb.MessageBatch) error {
	return c.send(methodRaft, b.SizeUpperLimit(), b.MarshalTo)
}

// snapshotConn carries one snapshot's chunks.
type snapshotConn struct{ sender }

var _ raftio.ISnapshotConnection = (*snapshotConn)(nil)

func (c *snapshotConn) SendChunk(ch pb.Chunk) error {
	return c.send(methodSnapshot, ch.Size(), ch.MarshalTo)
}

// Close ends the stream with a poison and waits (bounded) for the
// receiver's answer before closing, so the last chunks are not cut off by
// the close.
func (c *snapshotConn) Close() {
	defer c.c.Close()
	if err := c.c.SetDeadline(time.Now().Add(poisonAckTimeout)); err != nil {
		return
	}
	if _, err := c.c.Write(poison[:]); err != nil {
		return
	}
	var ack [magicBytes]byte
	_, _ = io.ReadFull(c.c, ack[:])
}
