package net

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	gonet "net"
	"sync"
	"sync/atomic"
	"time"
)

// conn serves one client connection with two goroutines: the reader reads
// and parses frames in order and starts one handler goroutine per request
// (when its API is serial, waiting first for the handler to return or to
// call markSubmitted; a request of another API than such a released one
// waits for it to return);
// the writer takes the requests in the same order, waits for each handler,
// and writes its response. Ordering therefore comes from the queue, not from
// the handlers, which may finish in any order.
//
// slots bounds the requests that are read but whose responses are not yet
// written (MaxInFlightPerConnection): the reader takes a slot before reading
// a frame, the writer gives it back after writing the response.
type conn struct {
	s      *Server
	nc     gonet.Conn
	remote string

	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc

	queue chan *pending // requests in arrival order; closed by the reader
	slots chan struct{}

	// stopping is set once the connection is closing for a reason already
	// logged (or by Shutdown), so the reader's resulting error is not
	// logged again.
	stopping atomic.Bool
}

// pending is one request whose response is being prepared.
type pending struct {
	done  chan struct{} // closed when frame and err are set
	frame [][]byte      // encoded response, in segments; nil: no response
	err   error
}

func newConn(s *Server, nc gonet.Conn) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	n := s.cfg.MaxInFlightPerConnection
	return &conn{
		s:      s,
		nc:     nc,
		remote: nc.RemoteAddr().String(),
		ctx:    ctx,
		cancel: cancel,
		queue:  make(chan *pending, n),
		slots:  make(chan struct{}, n),
	}
}

// run serves the connection until the client leaves, a request is refused,
// or the server shuts down; then it waits for the writer and closes.
func (c *conn) run() {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop()
	close(c.queue)
	<-writerDone
	c.cancel()
	c.nc.Close()
}

// stopReading makes the reader stop at once (Shutdown); a frame partly read
// is dropped unanswered, requests already read are still answered.
func (c *conn) stopReading() {
	c.stopping.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// closeFor logs why the connection closes, once.
func (c *conn) closeFor(reason string) {
	if c.stopping.Swap(true) {
		return
	}
	c.s.log.Warn("kafka connection closed", "remote", c.remote, "reason", reason)
}

// connReadBufferBytes buffers a connection's reads, so that a request's
// size and a small frame (and the next pipelined request) come in one read
// system call. Frames larger than the buffer are read straight into place.
const connReadBufferBytes = 64 << 10

func (c *conn) readLoop() {
	rd := bufio.NewReaderSize(c.nc, connReadBufferBytes)
	var sizeBuf [4]byte
	// early holds the serial requests released by markSubmitted whose
	// handlers have not returned; all of one API (key earlyKey).
	var early []*pending
	var earlyKey int16
	for {
		select {
		case c.slots <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
		if _, err := io.ReadFull(rd, sizeBuf[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				c.closeFor(fmt.Sprintf("read request size: %v", err))
			}
			return
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if size < 0 {
			c.closeFor(fmt.Sprintf("negative request frame size %d", size))
			return
		}
		if int64(size) > int64(c.s.cfg.MaxRequestBytes) {
			c.closeFor(fmt.Sprintf("request frame of %d bytes exceeds MaxRequestBytes %d", size, c.s.cfg.MaxRequestBytes))
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(rd, frame); err != nil {
			c.closeFor(fmt.Sprintf("read request frame of %d bytes: %v", size, err))
			return
		}
		r, err := parseRequest(frame, c.s.registry)
		if err != nil {
			c.closeFor(err.Error())
			return
		}
		r.rc.RemoteAddr = c.remote
		r.rc.cluster = c.s.cluster
		r.rc.bufs = c.s.bufs
		r.rc.log = c.s.log
		if len(early) > 0 && (!r.api.serial || r.api.key != earlyKey) {
			// Only a request of the same serial API may overtake an
			// earlier one released by markSubmitted (its effects are
			// ordered by the same means); any other request sees the
			// effects of every request before it, as without pipelining.
			for _, e := range early {
				select {
				case <-e.done:
				case <-c.ctx.Done():
					return
				}
			}
			early = early[:0]
		}
		p := &pending{done: make(chan struct{})}
		c.queue <- p // never blocks: the queue holds as many as there are slots
		ctx := c.ctx
		var sub *submission
		if r.api.serial {
			ctx, sub = withSubmission(ctx)
		}
		go func() {
			defer close(p.done)
			p.frame, p.err = serve(ctx, r)
		}()
		if r.api.serial {
			// The next request of this connection starts only after this
			// one's handler has returned or has said that its effects are
			// ordered (markSubmitted): request-order effects.
			select {
			case <-p.done:
			case <-sub.done:
				early = append(pruneDone(early), p)
				earlyKey = r.api.key
			case <-c.ctx.Done():
				return
			}
		}
	}
}

func (c *conn) writeLoop() {
	failed := false
	var segs gonet.Buffers // reused: WriteTo consumes it
	for p := range c.queue {
		<-p.done
		if !failed {
			switch {
			case p.err != nil:
				c.closeFor(p.err.Error())
				failed = true
			case p.frame != nil:
				// One writev for all segments (a fetch's record sets are
				// segments of their own, not copied into the frame).
				segs = append(segs[:0], p.frame...)
				if _, err := segs.WriteTo(c.nc); err != nil {
					c.closeFor(fmt.Sprintf("write response: %v", err))
					failed = true
				}
			}
			if failed {
				// Unblock the reader and cancel the other handlers; the
				// responses still queued are dropped.
				c.cancel()
				c.nc.Close()
			}
		}
		for _, b := range p.frame {
			c.s.bufs.put(b) // written or dropped, it is not used again
		}
		<-c.slots
	}
}

// pruneDone drops the requests whose handlers have returned.
func pruneDone(ps []*pending) []*pending {
	out := ps[:0]
	for _, p := range ps {
		select {
		case <-p.done:
		default:
			out = append(out, p)
		}
	}
	return out
}

// submission lets a serial API's handler release the connection's reader
// before it returns: once the handler has put its effects in order (say,
// submitted its Raft proposals, whose log order is their submission order),
// the next request may start while this one waits for its results.
type submission struct {
	once sync.Once
	done chan struct{}
}

type submissionKey struct{}

func withSubmission(ctx context.Context) (context.Context, *submission) {
	s := &submission{done: make(chan struct{})}
	return context.WithValue(ctx, submissionKey{}, s), s
}

// markSubmitted tells the connection that the serial request whose handler
// got ctx has ordered its effects, so the next request may start. It may
// be called more than once, and does nothing for a non-serial request.
func markSubmitted(ctx context.Context) {
	if s, ok := ctx.Value(submissionKey{}).(*submission); ok {
		s.once.Do(func() { close(s.done) })
	}
}
