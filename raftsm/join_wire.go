package raftsm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/tidemark/tidemark/core/codec"
)

// The join side channel: a broker whose data dir holds no controller
// replica asks a live one (1) whether a cluster already exists (a probe)
// and (2) to make it a new member of the controller shard (a join); and
// every broker asks its peers (3) for their replicas' applied indexes, the
// in-sync replica tracker's input (isr.go, isr_wire.go). Each is one
// request per TCP connection on the peer's Kafka listener:
//
//	request:  size uint32 | joinAPIKey int16 | version byte | kind byte | fields
//	response: size uint32 | version byte | kind byte | fields
//
// Kafka request keys are never negative, so joinAPIKey cannot be mistaken
// for a Kafka request; it is not advertised in ApiVersions. Fields are
// encoded with core/codec (big-endian, strings length-prefixed).
const (
	joinAPIKey      int16 = -2
	joinWireVersion uint8 = 1
	joinKindProbe   uint8 = 1
	joinKindJoin    uint8 = 2
	// joinKindProgress asks for the applied index of every local partition
	// replica (isr.go): the in-sync replica tracker's only input.
	joinKindProgress uint8 = 3
	joinMaxFrameSize       = 4096 // bytes of one request, or of a probe or join answer (progress answers: progressMaxAnswerSize), size prefix excluded
	joinMaxStringLen       = 1024 // bytes of one address, cluster id or reason

	// joinPeekTimeoutMs bounds how long the listener waits for a new
	// connection's first 6 bytes before handing it to the Kafka server
	// anyway (clients speak first, so this only delays silent ones).
	joinPeekTimeoutMs = 10_000
	// joinProbeTimeoutMs bounds one probe of one peer (dial, ask, answer);
	// peers are probed in parallel at the first start of a data dir.
	joinProbeTimeoutMs = 1_000
	// joinProbeAttempts bounds how often a peer that timed out is asked
	// again, so a first start waits at most joinProbeAttempts x
	// joinProbeTimeoutMs for a slow peer.
	joinProbeAttempts = 3
	// joinRequestTimeoutMs bounds one join request: the answering leader
	// makes up to two membership changes before it replies.
	joinRequestTimeoutMs = 10_000
	// joinAcceptRetryMs spaces Accept retries after a failure that may
	// pass (out of file descriptors).
	joinAcceptRetryMs = 100
)

// Join answer codes.
const (
	joinOK          uint8 = 0
	joinNotLeader   uint8 = 1 // ask LeaderKafkaAddr (if set) instead
	joinUnavailable uint8 = 2 // no controller replica or leader here yet: retry
	joinRejected    uint8 = 3 // the request contradicts the controller's state: Reason says why
)

type joinRequest struct {
	BrokerID    int32
	RaftAddr    string
	Incarnation uint64
	// Voter: the joiner is one of the initial peers, so its new replica
	// votes; a broker that is not an initial peer joins as a non-voting
	// replica (it reads and proposes, but never counts for a majority).
	Voter bool
}

type probeAnswer struct {
	// ClusterID is the cluster this broker belongs to, "" if it has seen
	// none bootstrapped.
	ClusterID string
}

type joinAnswer struct {
	Code            uint8
	Reason          string
	LeaderKafkaAddr string // with joinNotLeader: the controller leader's address, "" if unknown
	ClusterID       string // with joinOK
	ReplicaID       uint64 // with joinOK: the joiner's new controller replica id
}

func encodeProbeRequest() []byte {
	w := codec.NewWriter(2)
	w.Uint8(joinWireVersion)
	w.Uint8(joinKindProbe)
	return w.Bytes()
}

func encodeJoinRequest(r joinRequest) []byte {
	w := codec.NewWriter(64)
	w.Uint8(joinWireVersion)
	w.Uint8(joinKindJoin)
	w.Int32(r.BrokerID)
	w.String(r.RaftAddr)
	w.Uint64(r.Incarnation)
	w.Bool(r.Voter)
	return w.Bytes()
}

// decodeJoinWireRequest returns the kind and, for a join, its fields.
func decodeJoinWireRequest(b []byte) (uint8, joinRequest, error) {
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != joinWireVersion {
		return 0, joinRequest{}, fmt.Errorf("join request version %d, want %d", v, joinWireVersion)
	}
	kind := r.Uint8()
	var req joinRequest
	switch kind {
	case joinKindProbe, joinKindProgress:
	case joinKindJoin:
		req.BrokerID = r.Int32()
		req.RaftAddr = r.String(joinMaxStringLen)
		req.Incarnation = r.Uint64()
		req.Voter = r.Bool()
	default:
		if r.Err() == nil {
			return 0, joinRequest{}, fmt.Errorf("unknown join request kind %d", kind)
		}
	}
	return kind, req, r.Finish()
}

func encodeProbeAnswer(a probeAnswer) []byte {
	w := codec.NewWriter(64)
	w.Uint8(joinWireVersion)
	w.Uint8(joinKindProbe)
	w.String(a.ClusterID)
	return w.Bytes()
}

func decodeProbeAnswer(b []byte) (probeAnswer, error) {
	r := codec.NewReader(b)
	if err := readAnswerHeader(r, joinKindProbe); err != nil {
		return probeAnswer{}, err
	}
	a := probeAnswer{ClusterID: r.String(joinMaxStringLen)}
	return a, r.Finish()
}

func encodeJoinAnswer(a joinAnswer) []byte {
	w := codec.NewWriter(128)
	w.Uint8(joinWireVersion)
	w.Uint8(joinKindJoin)
	w.Uint8(a.Code)
	w.String(a.Reason)
	w.String(a.LeaderKafkaAddr)
	w.String(a.ClusterID)
	w.Uint64(a.ReplicaID)
	return w.Bytes()
}

func decodeJoinAnswer(b []byte) (joinAnswer, error) {
	r := codec.NewReader(b)
	if err := readAnswerHeader(r, joinKindJoin); err != nil {
		return joinAnswer{}, err
	}
	a := joinAnswer{Code: r.Uint8(), Reason: r.String(joinMaxStringLen), LeaderKafkaAddr: r.String(joinMaxStringLen),
		ClusterID: r.String(joinMaxStringLen), ReplicaID: r.Uint64()}
	return a, r.Finish()
}

func readAnswerHeader(r *codec.Reader, kind uint8) error {
	v, k := r.Uint8(), r.Uint8()
	if err := r.Err(); err != nil {
		return err
	}
	if v != joinWireVersion || k != kind {
		return fmt.Errorf("join answer version %d kind %d, want version %d kind %d", v, k, joinWireVersion, kind)
	}
	return nil
}

// askPeer sends one request to the join side channel at addr and returns
// the answer's body.
func askPeer(ctx context.Context, addr string, body []byte) ([]byte, error) {
	return askPeerLimit(ctx, addr, body, joinMaxFrameSize)
}

// askPeerLimit is askPeer with an answer of up to maxAnswer bytes.
func askPeerLimit(ctx context.Context, addr string, body []byte, maxAnswer uint32) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	frame := make([]byte, 6, 6+len(body))
	binary.BigEndian.PutUint32(frame, uint32(2+len(body)))
	key := joinAPIKey
	binary.BigEndian.PutUint16(frame[4:], uint16(key))
	if _, err := c.Write(append(frame, body...)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxAnswer {
		return nil, fmt.Errorf("join answer of %d bytes is over %d", n, maxAnswer)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(c, b)
	return b, err
}

// ---- the listener ----

// joinListener is the Kafka listener with the join side channel taken out:
// it serves connections whose first request carries joinAPIKey itself and
// hands every other connection, unchanged, to Accept.
type joinListener struct {
	ln    net.Listener
	serve func(ctx context.Context, body []byte) []byte
	conns chan net.Conn

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

// WrapKafkaListener returns ln with the join side channel served by this
// node: the Kafka server accepts from the returned listener. Closing it
// closes ln. Every broker of a multi-broker cluster should serve it (see
// docs/operations.md, "Wiped data dir").
func (n *Node) WrapKafkaListener(ln net.Listener) net.Listener {
	l := &joinListener{ln: ln, serve: n.serveJoinRequest, conns: make(chan net.Conn)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.acceptLoop()
	return l
}

func (l *joinListener) acceptLoop() {
	for {
		c, err := l.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			l.Close()
			return
		}
		if err != nil { // out of file descriptors, a reset before accept: may pass
			select {
			case <-time.After(joinAcceptRetryMs * time.Millisecond):
			case <-l.ctx.Done():
				return
			}
			continue
		}
		go l.route(c)
	}
}

// route reads a connection's first 6 bytes (frame size and request key) and
// either serves it as a join request or passes it on with those bytes put
// back in front.
func (l *joinListener) route(c net.Conn) {
	var head [6]byte
	c.SetReadDeadline(time.Now().Add(joinPeekTimeoutMs * time.Millisecond))
	got, err := io.ReadFull(c, head[:])
	c.SetReadDeadline(time.Time{})
	if err == nil && int16(binary.BigEndian.Uint16(head[4:])) == joinAPIKey {
		l.serveConn(c, binary.BigEndian.Uint32(head[:4]))
		return
	}
	if got == 0 && err != nil && !isTimeout(err) {
		c.Close() // closed before it said anything
		return
	}
	select {
	case l.conns <- &peekedConn{Conn: c, head: append([]byte(nil), head[:got]...)}:
	case <-l.ctx.Done():
		c.Close()
	}
}

func (l *joinListener) serveConn(c net.Conn, size uint32) {
	defer c.Close()
	if size < 2 || size-2 > joinMaxFrameSize {
		return
	}
	c.SetDeadline(time.Now().Add(joinRequestTimeoutMs * time.Millisecond))
	body := make([]byte, size-2)
	if _, err := io.ReadFull(c, body); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(l.ctx, joinRequestTimeoutMs*time.Millisecond)
	out := l.serve(ctx, body)
	cancel()
	if out == nil {
		return // malformed: close without an answer
	}
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(out)), uint32(len(out)))
	c.Write(append(frame, out...))
}

func (l *joinListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

func (l *joinListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.ln.Close()
	})
	return err
}

func (l *joinListener) Addr() net.Addr { return l.ln.Addr() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// peekedConn replays the bytes the listener read before handing it over.
type peekedConn struct {
	net.Conn
	head []byte
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
