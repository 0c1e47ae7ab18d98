package net

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gonet "net"
	"sync"
	"time"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Close or
// Shutdown.
var ErrServerClosed = errors.New("net: server closed")

// Server serves the Kafka protocol on one listener. Its methods are safe for
// concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	registry *registry
	cluster  Cluster  // nil only in tests of the framing
	bufs     *bufPool // Fetch records and response frames, reused

	// ctx is the parent of every connection's context; cancel ends all
	// in-flight handlers (Close, or Shutdown past its deadline).
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[gonet.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	wg        sync.WaitGroup // one per live connection
}

// New returns a server with the APIs in this package's table, answering
// from cluster. With a nil cluster (tests of the framing) a request that
// needs the broker closes its connection.
func New(cfg Config, cluster Cluster) (*Server, error) {
	s, err := newServer(cfg, supportedAPIs)
	if err != nil {
		return nil, err
	}
	s.cluster = cluster
	return s, nil
}

func newServer(cfg Config, apis []api) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	reg, err := newRegistry(apis)
	if err != nil {
		return nil, fmt.Errorf("net: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		log:       cfg.Log,
		registry:  reg,
		bufs:      newBufPool(fetchPoolBytes),
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[gonet.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}, nil
}

// ListenAndServe listens on the TCP address addr and serves it until the
// server closes.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := gonet.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("net: listen %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until the server closes (ErrServerClosed)
// or ln fails (that error). Serve closes ln when it returns.
func (s *Server) Serve(ln gonet.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var retry time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			if errors.Is(err, gonet.ErrClosed) {
				return fmt.Errorf("net: accept on %s: %w", ln.Addr(), err)
			}
			// Anything else (out of file descriptors, a connection reset
			// before accept) may pass: back off and keep serving, as
			// net/http does.
			retry = min(max(2*retry, acceptRetryMin), acceptRetryMax)
			s.log.Warn("kafka accept failed; retrying", "listener", ln.Addr().String(), "err", err, "retry_in", retry)
			time.Sleep(retry)
			continue
		}
		retry = 0
		s.admit(nc)
	}
}

// Backoff bounds after a failed Accept.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// admit starts serving nc, or closes it when the server is closed or at
// MaxConnections.
func (s *Server) admit(nc gonet.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if len(s.conns) >= s.cfg.MaxConnections {
		s.mu.Unlock()
		s.log.Warn("kafka connection refused", "remote", nc.RemoteAddr().String(),
			"reason", fmt.Sprintf("MaxConnections (%d) reached", s.cfg.MaxConnections))
		nc.Close()
		return
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		c.run()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

// Shutdown stops accepting connections and stops reading new requests, lets
// the requests already read finish and their responses be written, then
// closes every connection. If ctx ends first, in-flight handlers are
// cancelled, connections are closed at once, and ctx's error is returned
// once everything has stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.stopReading()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		s.bufs.release() // every connection, and so every handler, has ended
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		s.bufs.release()
		return ctx.Err()
	}
}

// Close shuts down without waiting for in-flight requests: handlers are
// cancelled and connections closed. It returns once every connection's
// goroutines have stopped.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
