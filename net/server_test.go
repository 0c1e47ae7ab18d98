package net

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	gonet "net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	s    *Server
	addr string
	logs *syncBuffer
}

func startServer(t *testing.T, cfg Config, apis []api) *testServer {
	t.Helper()
	return startServerWrapped(t, cfg, apis, nil)
}

func startServerWrapped(t *testing.T, cfg Config, apis []api, wrap func(gonet.Listener) gonet.Listener) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	if apis == nil {
		apis = supportedAPIs
	}
	s, err := newServer(cfg, apis)
	if err != nil {
		t.Fatal(err)
	}
	var ln gonet.Listener
	ln, err = gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &testServer{s: s, addr: ln.Addr().String(), logs: logs}
}

// client is a raw Kafka connection for tests.
type client struct {
	t  *testing.T
	nc gonet.Conn
	r  *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := gonet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	// A safety net so a broken server fails the test instead of hanging it;
	// no test asserts on time.
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func frameRequest(req kmsg.Request, version int16, correlationID int32) []byte {
	req.SetVersion(version)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, req, correlationID)
}

func (c *client) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one response frame; it returns an error when the server
// closed the connection.
func (c *client) readFrame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.r, frame)
	return frame, err
}

// readResponse reads one response and decodes it as key at version.
func (c *client) readResponse(key, version int16) (int32, kmsg.Response) {
	c.t.Helper()
	frame, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	corr := int32(binary.BigEndian.Uint32(frame))
	body := frame[4:]
	resp := kmsg.ResponseForKey(key)
	resp.SetVersion(version)
	if resp.IsFlexible() && key != apiVersionsKey {
		if body[0] != 0 {
			c.t.Fatalf("response header tag byte %d, want 0", body[0])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decode %d v%d response: %v", key, version, err)
	}
	return corr, resp
}

// expectClosed asserts the server closes the connection without answering.
func (c *client) expectClosed() {
	c.t.Helper()
	frame, err := c.readFrame()
	if err == nil {
		c.t.Fatalf("got a %d-byte response, want the connection closed", len(frame))
	}
	var ne gonet.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open: %v", err)
	}
}

func (c *client) apiVersionsOK(version int16, correlationID int32) {
	c.t.Helper()
	c.write(frameRequest(kmsg.NewPtrApiVersionsRequest(), version, correlationID))
	corr, resp := c.readResponse(apiVersionsKey, version)
	checkApiVersions(c.t, corr, correlationID, resp.(*kmsg.ApiVersionsResponse), 0)
}

func checkApiVersions(t *testing.T, gotCorr, wantCorr int32, resp *kmsg.ApiVersionsResponse, wantErr int16) {
	t.Helper()
	if gotCorr != wantCorr {
		t.Fatalf("correlation id %d, want %d", gotCorr, wantCorr)
	}
	if resp.ErrorCode != wantErr {
		t.Fatalf("error code %d, want %d", resp.ErrorCode, wantErr)
	}
	want := []kmsg.ApiVersionsResponseApiKey{
		{ApiKey: 0, MinVersion: 3, MaxVersion: 7},  // Produce
		{ApiKey: 1, MinVersion: 4, MaxVersion: 11}, // Fetch
		{ApiKey: 2, MinVersion: 0, MaxVersion: 3},  // ListOffsets
		{ApiKey: 3, MinVersion: 0, MaxVersion: 7},  // Metadata
		{ApiKey: 8, MinVersion: 2, MaxVersion: 7},  // OffsetCommit
		{ApiKey: 9, MinVersion: 1, MaxVersion: 5},  // OffsetFetch
		{ApiKey: 10, MinVersion: 0, MaxVersion: 2}, // FindCoordinator
		{ApiKey: 11, MinVersion: 0, MaxVersion: 5}, // JoinGroup
		{ApiKey: 12, MinVersion: 0, MaxVersion: 3}, // Heartbeat
		{ApiKey: 13, MinVersion: 0, MaxVersion: 3}, // LeaveGroup
		{ApiKey: 14, MinVersion: 0, MaxVersion: 3}, // SyncGroup
		{ApiKey: 15, MinVersion: 0, MaxVersion: 4}, // DescribeGroups
		{ApiKey: 16, MinVersion: 0, MaxVersion: 2}, // ListGroups
		{ApiKey: 18, MinVersion: 0, MaxVersion: 3}, // ApiVersions
		{ApiKey: 19, MinVersion: 0, MaxVersion: 4}, // CreateTopics
		{ApiKey: 20, MinVersion: 0, MaxVersion: 3}, // DeleteTopics
		{ApiKey: 21, MinVersion: 0, MaxVersion: 1}, // DeleteRecords
		{ApiKey: 22, MinVersion: 0, MaxVersion: 1}, // InitProducerId
		{ApiKey: 32, MinVersion: 0, MaxVersion: 2}, // DescribeConfigs
		{ApiKey: 33, MinVersion: 0, MaxVersion: 1}, // AlterConfigs
		{ApiKey: 37, MinVersion: 0, MaxVersion: 1}, // CreatePartitions
		{ApiKey: 42, MinVersion: 0, MaxVersion: 1}, // DeleteGroups
		{ApiKey: 44, MinVersion: 0, MaxVersion: 0}, // IncrementalAlterConfigs
		{ApiKey: 60, MinVersion: 0, MaxVersion: 0}, // DescribeCluster
	}
	if len(resp.ApiKeys) != len(want) {
		t.Fatalf("api keys %+v, want %+v", resp.ApiKeys, want)
	}
	for i, k := range resp.ApiKeys {
		if k.ApiKey != want[i].ApiKey || k.MinVersion != want[i].MinVersion || k.MaxVersion != want[i].MaxVersion {
			t.Fatalf("api keys %+v, want %+v", resp.ApiKeys, want)
		}
	}
}

// recordingListener keeps every byte the server reads, per connection.
type recordingListener struct {
	gonet.Listener
	mu    sync.Mutex
	conns []*syncBuffer
}

type recordingConn struct {
	gonet.Conn
	rec *syncBuffer
}

func (l *recordingListener) Accept() (gonet.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rec := &syncBuffer{}
	l.mu.Lock()
	l.conns = append(l.conns, rec)
	l.mu.Unlock()
	return &recordingConn{Conn: nc, rec: rec}, nil
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rec.Write(p[:n])
	return n, err
}

// requestVersions lists the (key, version) of each complete request frame
// read on each connection.
func (l *recordingListener) requestVersions() [][][2]int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][][2]int16
	for _, rec := range l.conns {
		b := []byte(rec.String())
		var reqs [][2]int16
		for len(b) >= 8 {
			size := int(binary.BigEndian.Uint32(b))
			if len(b) < 4+size || size < 4 {
				break
			}
			reqs = append(reqs, [2]int16{int16(binary.BigEndian.Uint16(b[4:])), int16(binary.BigEndian.Uint16(b[6:]))})
			b = b[4+size:]
		}
		out = append(out, reqs)
	}
	return out
}

func TestKgoApiVersions(t *testing.T) {
	rec := &recordingListener{}
	ts := startServerWrapped(t, Config{}, nil, func(ln gonet.Listener) gonet.Listener {
		rec.Listener = ln
		return rec
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(ts.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// franz-go opens with ApiVersions v5, gets the v0 UNSUPPORTED_VERSION
	// answer, retries at v3, then sends this request at v3.
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("ApiVersions through kgo: %v", err)
	}
	if resp.Version != 3 {
		t.Errorf("kgo used ApiVersions v%d, want 3", resp.Version)
	}
	checkApiVersions(t, 0, 0, resp, 0)
	// The connection began with the KIP-511 exchange.
	first := rec.requestVersions()[0]
	if len(first) < 2 || first[0] != [2]int16{18, 5} || first[1] != [2]int16{18, 3} {
		t.Errorf("first connection's requests (key, version): %v, want ApiVersions v5 then v3", first)
	}
}

func TestApiVersionsEachVersion(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c := dial(t, ts.addr)
	for v := int16(0); v <= 3; v++ {
		c.apiVersionsOK(v, 100+int32(v))
	}
}

func TestApiVersionsAboveMaxFallsBackToV0(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c := dial(t, ts.addr)
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "franz-go", "1.22.3"
	c.write(frameRequest(req, 5, 7))
	corr, resp := c.readResponse(apiVersionsKey, 0)
	checkApiVersions(t, corr, 7, resp.(*kmsg.ApiVersionsResponse), errUnsupportedVersion)
	// The connection stays usable at a supported version.
	c.apiVersionsOK(3, 8)
}

// blockingAPIs returns a test table: Metadata v0 whose handler for a request
// with topic "first" waits until the handler for topic "second" has run, and
// (closing firstStarted, if set, when it starts), and Produce v3 that never
// answers, as for acks=0.
func blockingAPIs(secondRan, firstStarted chan struct{}) []api {
	metadata := api{key: 3, name: "Metadata", minVersion: 0, maxVersion: 0,
		handle: func(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
			m := req.(*kmsg.MetadataRequest)
			resp := kmsg.NewPtrMetadataResponse()
			switch topic := *m.Topics[0].Topic; topic {
			case "first":
				if firstStarted != nil {
					close(firstStarted)
				}
				select {
				case <-secondRan:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			case "second":
				close(secondRan)
			case "fail":
				return nil, errors.New("test handler failure")
			}
			t := kmsg.NewMetadataResponseTopic()
			t.Topic = m.Topics[0].Topic
			resp.Topics = append(resp.Topics, t)
			return resp, nil
		}}
	produce := api{key: 0, name: "Produce", minVersion: 3, maxVersion: 3,
		handle: func(context.Context, *requestContext, kmsg.Request) (kmsg.Response, error) {
			return nil, nil
		}}
	return []api{apiVersionsAPI, metadata, produce}
}

func metadataRequest(topic string, correlationID int32) []byte {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	return frameRequest(req, 0, correlationID)
}

func TestPipelinedResponsesInRequestOrder(t *testing.T) {
	ts := startServer(t, Config{}, blockingAPIs(make(chan struct{}), nil))
	c := dial(t, ts.addr)
	// One write: "first" can only finish after "second" ran, so the handlers
	// must run concurrently, and "first"'s response must still come first.
	// The acks=0 produce in between gets no response at all.
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks = 0
	var batch []byte
	batch = append(batch, metadataRequest("first", 1)...)
	batch = append(batch, frameRequest(produce, 3, 2)...)
	batch = append(batch, metadataRequest("second", 3)...)
	batch = append(batch, frameRequest(kmsg.NewPtrApiVersionsRequest(), 0, 4)...)
	c.write(batch)
	for _, want := range []struct {
		corr  int32
		topic string
	}{{1, "first"}, {3, "second"}} {
		corr, resp := c.readResponse(3, 0)
		m := resp.(*kmsg.MetadataResponse)
		if corr != want.corr || len(m.Topics) != 1 || *m.Topics[0].Topic != want.topic {
			t.Fatalf("got correlation id %d topics %+v, want %d %q", corr, m.Topics, want.corr, want.topic)
		}
	}
	corr, resp := c.readResponse(apiVersionsKey, 0)
	if corr != 4 {
		t.Fatalf("correlation id %d, want 4", corr)
	}
	if len(resp.(*kmsg.ApiVersionsResponse).ApiKeys) != 3 {
		t.Fatalf("ApiVersions lists %+v, want the 3 test APIs", resp.(*kmsg.ApiVersionsResponse).ApiKeys)
	}
}

func TestHandlerErrorClosesConnection(t *testing.T) {
	ts := startServer(t, Config{}, blockingAPIs(make(chan struct{}), nil))
	c := dial(t, ts.addr)
	c.write(metadataRequest("fail", 1))
	c.expectClosed()
	other := dial(t, ts.addr)
	other.write(metadataRequest("ok", 2))
	if corr, _ := other.readResponse(3, 0); corr != 2 {
		t.Fatalf("correlation id %d, want 2", corr)
	}
	if !strings.Contains(ts.logs.String(), "test handler failure") {
		t.Errorf("log does not give the reason:\n%s", ts.logs.String())
	}
}

func TestOversizedFrameClosesOnlyThatConnection(t *testing.T) {
	ts := startServer(t, Config{MaxRequestBytes: 1024}, nil)
	good := dial(t, ts.addr)
	good.apiVersionsOK(0, 1)

	bad := dial(t, ts.addr)
	frame := make([]byte, 4+2048)
	binary.BigEndian.PutUint32(frame, 2048)
	bad.write(frame[:4]) // the server must refuse on the size alone
	bad.expectClosed()

	good.apiVersionsOK(3, 2)
	if !strings.Contains(ts.logs.String(), "exceeds MaxRequestBytes") {
		t.Errorf("log does not give the reason:\n%s", ts.logs.String())
	}
}

func TestMalformedRequestsCloseConnection(t *testing.T) {
	truncated := frameRequest(kmsg.NewPtrApiVersionsRequest(), 3, 1)
	truncated = truncated[:len(truncated)-3]
	binary.BigEndian.PutUint32(truncated, uint32(len(truncated)-4))

	unknownKey := frameRequest(kmsg.NewPtrApiVersionsRequest(), 0, 1)
	binary.BigEndian.PutUint16(unknownKey[4:], 9999)

	cases := map[string][]byte{
		"negative size":      {0xff, 0xff, 0xff, 0xf0},
		"short header":       {0, 0, 0, 3, 0, 18, 0},
		"garbage":            append([]byte{0, 0, 0, 12}, bytes.Repeat([]byte{0xff}, 12)...),
		"truncated body":     truncated,
		"unknown api key":    unknownKey,
		"unimplemented key":  metadataRequest("t", 1),
		"negative version":   frameRequest(kmsg.NewPtrApiVersionsRequest(), -1, 1),
		"bad client id size": {0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0, 50},
	}
	ts := startServer(t, Config{}, nil)
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			c := dial(t, ts.addr)
			c.write(frame)
			c.expectClosed()
		})
	}
	// The server is unharmed.
	dial(t, ts.addr).apiVersionsOK(2, 1)
	// One log line per refused connection.
	if n := strings.Count(ts.logs.String(), "kafka connection closed"); n != len(cases) {
		t.Errorf("%d close lines logged, want %d:\n%s", n, len(cases), ts.logs.String())
	}
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{MaxConnections: 1}, nil)
	first := dial(t, ts.addr)
	first.apiVersionsOK(0, 1) // admitted for sure

	over := dial(t, ts.addr)
	over.expectClosed()
	if !strings.Contains(ts.logs.String(), "MaxConnections (1) reached") {
		t.Errorf("log does not give the reason:\n%s", ts.logs.String())
	}

	// Once the first leaves, a new connection is served. The server frees
	// the slot asynchronously, so retry a bounded number of times.
	first.nc.Close()
	for attempt := 0; ; attempt++ {
		c := dial(t, ts.addr)
		c.write(frameRequest(kmsg.NewPtrApiVersionsRequest(), 0, 2))
		if _, err := c.readFrame(); err == nil {
			break
		}
		if attempt == 1000 {
			t.Fatal("connection slot never freed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	secondRan, firstStarted := make(chan struct{}), make(chan struct{})
	ts := startServer(t, Config{}, blockingAPIs(secondRan, firstStarted))
	c := dial(t, ts.addr)
	c.write(metadataRequest("first", 1)) // blocks until secondRan closes
	<-firstStarted
	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.s.Shutdown(context.Background()) }()
	close(secondRan)
	corr, _ := c.readResponse(3, 0)
	if corr != 1 {
		t.Fatalf("correlation id %d, want 1", corr)
	}
	c.expectClosed()
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestConfigAndRegistryValidation(t *testing.T) {
	if _, err := New(Config{MaxConnections: -1}, nil); err == nil {
		t.Error("negative MaxConnections accepted")
	}
	s, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxRequestBytes != DefaultMaxRequestBytes || s.cfg.MaxConnections != DefaultMaxConnections ||
		s.cfg.MaxInFlightPerConnection != DefaultMaxInFlightPerConnection {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
	tooHigh := apiVersionsAPI
	tooHigh.maxVersion = 99
	noHandler := apiVersionsAPI
	noHandler.handle = nil
	unknown := apiVersionsAPI
	unknown.key = 9999
	for name, apis := range map[string][]api{
		"duplicate key":       {apiVersionsAPI, apiVersionsAPI},
		"version beyond kmsg": {tooHigh},
		"no handler":          {noHandler},
		"key unknown to kmsg": {unknown},
	} {
		if _, err := newServer(Config{}, apis); err == nil {
			t.Errorf("%s: registry accepted", name)
		}
	}
}
