package net

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiVersionsKey is special in the framing: its response header never has a
// tag byte, and versions above the advertised range are answered, not refused.
const apiVersionsKey int16 = 18

// requestContext is what a handler knows about a request besides its body.
type requestContext struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      *string // nil when the client sent a null client id
	RemoteAddr    string

	registry *registry
	cluster  Cluster      // nil when the server has none (framing tests)
	bufs     *bufPool     // nil: nothing is pooled
	log      *slog.Logger // nil: slog.Default()
}

// request is one parsed request frame, ready to serve.
type request struct {
	rc  requestContext
	api api
	// body is the decoded request; nil when fallback is set.
	body kmsg.Request
	// fallback: ApiVersions above our maximum, answered by apiVersionsFallback.
	fallback bool
}

// protocolError is a request the server refuses to serve; the connection is
// closed with its message as the reason.
type protocolError struct{ reason string }

func (e *protocolError) Error() string { return e.reason }

func protocolErrorf(format string, args ...any) error {
	return &protocolError{reason: fmt.Sprintf(format, args...)}
}

// parseRequest parses one request frame (without its 4-byte size prefix):
// the request header (v1, or v2 with tagged fields for flexible versions),
// then the body with kmsg at the header's version.
//
// It refuses (with a *protocolError) an API key the registry does not hold,
// a version outside the API's advertised range, and anything that does not
// decode. ApiVersions above the advertised range is the exception: only its
// correlation id is read, and the request is marked for the fallback answer.
func parseRequest(frame []byte, reg *registry) (*request, error) {
	if len(frame) < 8 {
		return nil, protocolErrorf("request frame of %d bytes is shorter than a request header", len(frame))
	}
	r := &request{rc: requestContext{
		Key:           int16(binary.BigEndian.Uint16(frame[0:])),
		Version:       int16(binary.BigEndian.Uint16(frame[2:])),
		CorrelationID: int32(binary.BigEndian.Uint32(frame[4:])),
		registry:      reg,
	}}
	key, version := r.rc.Key, r.rc.Version
	a, ok := reg.byKey[key]
	if !ok {
		return nil, protocolErrorf("unsupported api key %d (version %d)", key, version)
	}
	r.api = a
	if key == apiVersionsKey && version > a.maxVersion {
		r.fallback = true
		return r, nil
	}
	if version < a.minVersion || version > a.maxVersion {
		return nil, protocolErrorf("unsupported version %d of api key %d (%s); advertised %d-%d",
			version, key, a.name, a.minVersion, a.maxVersion)
	}
	body := kmsg.RequestForKey(key)
	if body == nil { // newRegistry checked; kept so a nil never reaches a handler
		return nil, protocolErrorf("api key %d unknown to kmsg", key)
	}
	body.SetVersion(version)

	b := kbin.Reader{Src: frame[8:]}
	// The client id is a nullable non-compact string in every header
	// version, except that ControlledShutdown v0 has none (header v0).
	if key != 7 || version != 0 {
		r.rc.ClientID = b.NullableString()
	}
	if body.IsFlexible() {
		kmsg.SkipTags(&b)
	}
	if err := b.Complete(); err != nil {
		return nil, protocolErrorf("request header of api key %d v%d does not decode: %v", key, version, err)
	}
	if err := body.ReadFrom(b.Src); err != nil {
		return nil, protocolErrorf("request body of api key %d (%s) v%d does not decode: %v", key, a.name, version, err)
	}
	r.body = body
	return r, nil
}

// serve runs the request's handler and returns the encoded response frame,
// size prefix included, as segments to write one after another (see
// fetchFrame), or nil when the handler sends no response. Every segment
// may be a buffer of the pool, to be handed back once written. An error
// means the connection must close.
func serve(ctx context.Context, r *request) ([][]byte, error) {
	if r.fallback {
		return [][]byte{encodeResponse(r.rc.CorrelationID, apiVersionsFallback(r.rc.registry))}, nil
	}
	if r.api.needsCluster && r.rc.cluster == nil {
		return nil, fmt.Errorf("%s needs a broker, and none is attached to the server", r.api.name)
	}
	resp, err := r.api.handle(ctx, &r.rc, r.body)
	if err != nil {
		return nil, fmt.Errorf("%s v%d handler: %w", r.api.name, r.rc.Version, err)
	}
	if resp == nil {
		return nil, nil
	}
	if resp.Key() != r.rc.Key {
		return nil, fmt.Errorf("%s v%d handler returned a response for api key %d", r.api.name, r.rc.Version, resp.Key())
	}
	resp.SetVersion(r.rc.Version)
	if f, ok := resp.(*kmsg.FetchResponse); ok {
		if segs, ok := fetchFrame(r.rc.CorrelationID, f); ok {
			return segs, nil // the writer hands the record buffers back
		}
	}
	// A Fetch at a version fetchFrame leaves (flexible ones, not served)
	// has its records copied into the frame: they can go back now.
	frame := encodeResponse(r.rc.CorrelationID, resp)
	recycleRecords(r.rc.bufs, resp)
	return [][]byte{frame}, nil
}

// encodeResponse frames resp at the version it carries: size, correlation id,
// an empty tag section for flexible versions (response header v1) except for
// ApiVersions, whose response header is always v0, then the body. Every
// response served is small except Fetch, which fetchFrame encodes without
// copying its records.
func encodeResponse(correlationID int32, resp kmsg.Response) []byte {
	out := make([]byte, 8, 64)
	binary.BigEndian.PutUint32(out[4:], uint32(correlationID))
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		out = append(out, 0)
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out[0:], uint32(len(out)-4))
	return out
}
