package raftnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"
	pb "github.com/lni/dragonboat/v4/raftpb"
	"pgregory.net/rapid"
)

// received collects what a transport delivered.
type received struct {
	mu      sync.Mutex
	batches []pb.MessageBatch
	chunks  []pb.Chunk
	reject  bool // the chunk handler refuses every chunk
	arrived chan struct{}
}

func (r *received) onBatch(b pb.MessageBatch) {
	r.mu.Lock()
	r.batches = append(r.batches, b)
	r.mu.Unlock()
	r.arrived <- struct{}{}
}

func (r *received) onChunk(c pb.Chunk) bool {
	r.mu.Lock()
	r.chunks = append(r.chunks, c)
	r.mu.Unlock()
	r.arrived <- struct{}{}
	return !r.reject
}

// startTransport starts a transport on a loopback port and returns it with
// its address.
func startTransport(t testing.TB, r *received) (*Transport, string) {
	t.Helper()
	f := &Factory{}
	tr := f.Create(config.NodeHostConfig{RaftAddress: "127.0.0.1:0"}, r.onBatch, r.onChunk).(*Transport)
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr, tr.ln.Addr().String()
}

func newReceived() *received { return &received{arrived: make(chan struct{}, 1024)} }

func (r *received) wait(t testing.TB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-r.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d deliveries arrived", i, n)
		}
	}
}

// genBatch draws a message batch with entries whose commands range from
// empty to larger than the read buffer, so frames are decoded both in
// place and from their own buffer.
func genBatch(t *rapid.T) pb.MessageBatch {
	b := pb.MessageBatch{
		DeploymentId:  rapid.Uint64().Draw(t, "deployment"),
		SourceAddress: rapid.StringMatching(`[a-z0-9.]{1,20}:[0-9]{1,5}`).Draw(t, "source"),
		BinVer:        rapid.Uint32().Draw(t, "binver"),
	}
	for i := rapid.IntRange(1, 4).Draw(t, "messages"); i > 0; i-- {
		m := pb.Message{
			Type:     pb.Replicate,
			To:       rapid.Uint64().Draw(t, "to"),
			From:     rapid.Uint64().Draw(t, "from"),
			ShardID:  rapid.Uint64().Draw(t, "shard"),
			Term:     rapid.Uint64().Draw(t, "term"),
			LogTerm:  rapid.Uint64().Draw(t, "logterm"),
			LogIndex: rapid.Uint64().Draw(t, "logindex"),
			Commit:   rapid.Uint64().Draw(t, "commit"),
		}
		for j := rapid.IntRange(0, 3).Draw(t, "entries"); j > 0; j-- {
			size := rapid.OneOf(rapid.IntRange(0, 2048), rapid.IntRange(readBufferBytes-4096, readBufferBytes+4096), rapid.IntRange(0, 3*readBufferBytes)).Draw(t, "cmd size")
			cmd := make([]byte, size)
			for k := range cmd {
				cmd[k] = byte(k*31 + j)
			}
			m.Entries = append(m.Entries, pb.Entry{Term: m.Term, Index: rapid.Uint64().Draw(t, "index"), Type: pb.ApplicationEntry, Cmd: cmd})
		}
		b.Requests = append(b.Requests, m)
	}
	return b
}

// TestBatchesArriveIntact: whatever sequence of message batches is sent on
// one connection arrives whole, in order, each equal to what was sent.
func TestBatchesArriveIntact(t *testing.T) {
	r := newReceived()
	tr, addr := startTransport(t, r)
	c, err := tr.GetConnection(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rapid.Check(t, func(rt *rapid.T) {
		sent := rapid.SliceOfN(rapid.Custom(genBatch), 1, 8).Draw(rt, "batches")
		r.mu.Lock()
		r.batches = nil
		r.mu.Unlock()
		for _, b := range sent {
			if err := c.SendMessageBatch(b); err != nil {
				rt.Fatal(err)
			}
		}
		r.wait(t, len(sent))
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := range sent {
			want, _ := sent[i].Marshal()
			got, _ := r.batches[i].Marshal()
			if !bytes.Equal(got, want) {
				rt.Fatalf("batch %d differs after the trip", i)
			}
		}
	})
}

// TestSnapshotStreamEndsWithPoisonAck: chunks arrive in order, and Close
// returns only after the receiver answered the poison (so it read them all).
func TestSnapshotStreamEndsWithPoisonAck(t *testing.T) {
	r := newReceived()
	tr, addr := startTransport(t, r)
	sc, err := tr.GetSnapshotConnection(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	var sent []pb.Chunk
	for i, size := range []int{10, readBufferBytes + 1, 2 << 20} {
		ch := pb.Chunk{ShardID: 7, ReplicaID: 2, From: 1, ChunkId: uint64(i), ChunkCount: 3, Index: 100, Term: 3, Data: bytes.Repeat([]byte{byte(i + 1)}, size), Filepath: "snap"}
		sent = append(sent, ch)
		if err := sc.SendChunk(ch); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	sc.Close()
	if d := time.Since(start); d >= poisonAckTimeout {
		t.Fatalf("Close waited %v: the poison was not answered", d)
	}
	r.wait(t, len(sent))
	for i := range sent {
		if r.chunks[i].ChunkId != sent[i].ChunkId || !bytes.Equal(r.chunks[i].Data, sent[i].Data) {
			t.Fatalf("chunk %d differs after the trip", i)
		}
	}
}

// TestRejectedChunkDropsConnection: when dragonboat refuses a chunk the
// connection is closed, as with dragonboat's own transport.
func TestRejectedChunkDropsConnection(t *testing.T) {
	r := newReceived()
	r.reject = true
	tr, addr := startTransport(t, r)
	sc, err := tr.GetSnapshotConnection(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.SendChunk(pb.Chunk{ShardID: 1, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 1)
	raw := sc.(*snapshotConn).c
	expectClosedByPeer(t, raw, "after a rejected chunk")
}

// TestMalformedFramesAreDropped: a frame with a bad magic, header checksum,
// size or payload checksum closes the connection and delivers nothing.
func TestMalformedFramesAreDropped(t *testing.T) {
	good := batchFrame(pb.MessageBatch{SourceAddress: "a:1"})
	cases := map[string]func(f []byte) []byte{
		"magic":      func(f []byte) []byte { f[0] = 0xAF; return f },
		"header crc": func(f []byte) []byte { f[magicBytes+12] ^= 1; return f },
		"method": func(f []byte) []byte {
			binary.BigEndian.PutUint16(f[magicBytes:], 300)
			putHeaderCRC(f)
			return f
		},
		"size": func(f []byte) []byte {
			binary.BigEndian.PutUint64(f[magicBytes+2:], maxPayloadBytes+1)
			putHeaderCRC(f)
			return f
		},
		"payload crc": func(f []byte) []byte { f[len(f)-1] ^= 1; return f },
		"payload":     func(f []byte) []byte { f[prefixBytes] = 0xFF; putPrefix(f, methodRaft, f[prefixBytes:]); return f },
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		t.Run(name, func(t *testing.T) {
			r := newReceived()
			_, addr := startTransport(t, r)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// A good frame first: the connection works until the bad one.
			frame := append(append([]byte(nil), good...), cases[name](slices.Clone(good))...)
			if _, err := c.Write(frame); err != nil {
				t.Fatal(err)
			}
			r.wait(t, 1)
			expectClosedByPeer(t, c, "after a malformed frame")
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.batches) != 1 {
				t.Fatalf("%d batches delivered, want only the good one", len(r.batches))
			}
		})
	}
}

// batchFrame is the whole frame carrying b.
func batchFrame(b pb.MessageBatch) []byte {
	payload, _ := b.Marshal()
	f := make([]byte, prefixBytes+len(payload))
	copy(f[prefixBytes:], payload)
	putPrefix(f, methodRaft, f[prefixBytes:])
	return f
}

// putHeaderCRC recomputes the header checksum of frame f after a test
// changed a header field.
func putHeaderCRC(f []byte) {
	h := f[magicBytes:prefixBytes]
	binary.BigEndian.PutUint32(h[10:], 0)
	binary.BigEndian.PutUint32(h[10:], crc32.ChecksumIEEE(h))
}

func TestValidate(t *testing.T) {
	f := &Factory{}
	for addr, want := range map[string]bool{
		"127.0.0.1:9000": true, "broker-1.local:26000": true, "[::1]:1": true,
		"127.0.0.1": false, ":9000": false, "host:0": false, "host:65536": false, "host:x": false, "": false,
	} {
		if got := f.Validate(addr); got != want {
			t.Errorf("Validate(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestCloseEndsServing: Close returns once every incoming connection is
// closed and its serve loop has ended, even with a peer connected and
// idle; the peer sees its connection end.
func TestCloseEndsServing(t *testing.T) {
	r := newReceived()
	tr, addr := startTransport(t, r)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A frame delivered proves the connection is being served.
	if _, err := c.Write(batchFrame(pb.MessageBatch{SourceAddress: "a:1"})); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 1)
	closed := make(chan error, 1)
	go func() { closed <- tr.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with a peer connected")
	}
	expectClosedByPeer(t, c, "after Close")
}

// expectClosedByPeer fails unless the transport closed c: a read ends in
// EOF or a reset, not in the 10 s timeout that an open connection meets.
func expectClosedByPeer(t *testing.T, c net.Conn, when string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("connection still open %s (read: %v)", when, err)
	}
}

// FuzzServe: whatever bytes a peer sends, serving them neither panics nor
// delivers anything but whole, checksummed frames that decode.
func FuzzServe(f *testing.F) {
	good := batchFrame(pb.MessageBatch{SourceAddress: "a:1", Requests: []pb.Message{{Type: pb.Heartbeat, ShardID: 3}}})
	f.Add(good)
	f.Add(append(slices.Clone(good), good...))
	f.Add(poison[:])
	f.Add(good[:prefixBytes+3])
	f.Fuzz(func(t *testing.T, in []byte) {
		var batches, chunks int
		tr := (&Factory{}).Create(config.NodeHostConfig{},
			func(pb.MessageBatch) { batches++ },
			func(pb.Chunk) bool { chunks++; return true }).(*Transport)
		server, client := net.Pipe()
		go func() {
			_, _ = client.Write(in)
			_ = client.Close()
		}()
		// A poison is answered: read the answer so the write completes.
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = tr.serve(server)
		_ = server.Close()
		if batches+chunks > len(in)/prefixBytes {
			t.Fatalf("%d deliveries from %d bytes", batches+chunks, len(in))
		}
	})
}
