package net

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// wideAPIs registers every API key kmsg knows, at every version kmsg knows,
// with a handler that answers the empty response: it runs bytes from the
// fuzzer through every kmsg request decoder that a later handler may use.
func wideAPIs() []api {
	apis := []api{apiVersionsAPI}
	for key := int16(0); key < 1024; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil || key == apiVersionsKey {
			continue
		}
		apis = append(apis, api{key: key, name: "wide", minVersion: 0, maxVersion: req.MaxVersion(),
			handle: func(_ context.Context, _ *requestContext, req kmsg.Request) (kmsg.Response, error) {
				return req.ResponseKind(), nil
			}})
	}
	return apis
}

// FuzzRequestPath feeds arbitrary request frames (without the size prefix)
// through header parsing, kmsg decoding, dispatch and response encoding, as
// a connection does. Nothing may panic; a refused frame is a *protocolError;
// an accepted one is answered with a well-formed frame carrying its
// correlation id.
func FuzzRequestPath(f *testing.F) {
	for v := int16(0); v <= 5; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.ClientSoftwareName, req.ClientSoftwareVersion = "fuzz", "1"
		f.Add(frameRequest(req, v, int32(v))[4:])
	}
	f.Add(metadataRequest("topic", 9)[4:])
	produce := kmsg.NewPtrProduceRequest()
	f.Add(frameRequest(produce, 7, 10)[4:])

	narrow, err := newRegistry(supportedAPIs)
	if err != nil {
		f.Fatal(err)
	}
	wide, err := newRegistry(wideAPIs())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, reg := range []*registry{narrow, wide} {
			r, err := parseRequest(frame, reg)
			if err != nil {
				var pe *protocolError
				if !errors.As(err, &pe) {
					t.Fatalf("parse error %v is not a protocol error", err)
				}
				continue
			}
			out, err := serve(context.Background(), r)
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
			if len(out) < 8 || int(binary.BigEndian.Uint32(out)) != len(out)-4 {
				t.Fatalf("response frame of %d bytes has size prefix %d", len(out), binary.BigEndian.Uint32(out))
			}
			if corr := int32(binary.BigEndian.Uint32(out[4:])); corr != r.rc.CorrelationID {
				t.Fatalf("response correlation id %d, want %d", corr, r.rc.CorrelationID)
			}
		}
	})
}
