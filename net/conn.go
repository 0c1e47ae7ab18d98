package net

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	gonet "net"
	"sync/atomic"
	"time"
)

// conn serves one client connection with two goroutines: the reader reads
// and parses frames in order and starts one handler goroutine per request
// (waiting for it to return first when its API is serial);
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
	frame []byte        // encoded response; nil: no response
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

func (c *conn) readLoop() {
	var sizeBuf [4]byte
	for {
		select {
		case c.slots <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
		if _, err := io.ReadFull(c.nc, sizeBuf[:]); err != nil {
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
		if _, err := io.ReadFull(c.nc, frame); err != nil {
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
		r.rc.log = c.s.log
		p := &pending{done: make(chan struct{})}
		c.queue <- p // never blocks: the queue holds as many as there are slots
		go func() {
			defer close(p.done)
			p.frame, p.err = serve(c.ctx, r)
		}()
		if r.api.serial {
			// The next request of this connection starts only after this
			// one's handler has returned (request-order effects).
			select {
			case <-p.done:
			case <-c.ctx.Done():
				return
			}
		}
	}
}

func (c *conn) writeLoop() {
	failed := false
	for p := range c.queue {
		<-p.done
		if !failed {
			switch {
			case p.err != nil:
				c.closeFor(p.err.Error())
				failed = true
			case p.frame != nil:
				if _, err := c.nc.Write(p.frame); err != nil {
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
		<-c.slots
	}
}
