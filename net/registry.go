package net

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handlerFunc serves one decoded request. req is the kmsg request type for the
// API key, decoded at the version in rc.Version (always within the API's
// advertised range). The returned response must be of the matching kmsg
// response type; the server sets its version and encodes it.
//
// A nil response with a nil error means "send no response" (acks=0 produce);
// the connection's later responses still go out in order. A non-nil error
// means the request cannot be served at all (not a Kafka error code: those go
// inside the response); the server logs it and closes the connection.
//
// Handlers run concurrently, one goroutine per request, including requests
// of the same connection. ctx is cancelled when the connection or the server
// closes. A handler holds no state of its own: it translates. Handlers that
// need the broker reach it through rc.cluster (the Cluster interface, in
// cluster.go), which holds only what the handlers call.
//
// Handlers of one connection may run in any order, except serial ones: an
// API marked serial (Produce: an idempotent producer pipelines batches on
// one connection and needs them applied in request order) makes the
// connection's reader wait until its handler has returned, or has called
// markSubmitted to say its effects are ordered (its proposals are in their
// shards' queues), before reading the next request. A request of another
// API waits for every such released request to return (conn.go).
type handlerFunc func(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error)

// api is one supported Kafka API: its key, the versions advertised in
// ApiVersions, and its handler. Each lives in its own api_<name>.go file.
type api struct {
	key        int16
	name       string
	minVersion int16
	maxVersion int16
	handle     handlerFunc
	// serial: the connection reads no further request until this one's
	// handler has returned or called markSubmitted (see handlerFunc).
	serial bool
	// needsCluster: the handler calls the broker (requestContext.cluster).
	// On a server without one (the framing tests) serve closes the
	// connection instead of calling it.
	needsCluster bool
}

// supportedAPIs is every API the server serves, and so exactly what
// ApiVersions advertises: the data path below, the group APIs
// (registry_groups.go) and the admin APIs (registry_admin.go). Add one line
// per handler file to its list.
var supportedAPIs = concatAPIs(dataAPIs, groupAPIs, adminAPIs)

// dataAPIs are the APIs of metadata, topics, producing and fetching.
var dataAPIs = []api{
	apiVersionsAPI,
	metadataAPI,
	createTopicsAPI,
	produceAPI,
	fetchAPI,
	listOffsetsAPI,
	initProducerIDAPI,
}

func concatAPIs(lists ...[]api) []api {
	var all []api
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// registry is the lookup table built from a list of apis.
type registry struct {
	byKey map[int16]api
	// sorted by key, for ApiVersions responses
	list []api
}

func newRegistry(apis []api) (*registry, error) {
	r := &registry{byKey: make(map[int16]api, len(apis))}
	for _, a := range apis {
		if _, dup := r.byKey[a.key]; dup {
			return nil, fmt.Errorf("api key %d (%s) registered twice", a.key, a.name)
		}
		probe := kmsg.RequestForKey(a.key)
		if probe == nil {
			return nil, fmt.Errorf("api key %d (%s) unknown to kmsg", a.key, a.name)
		}
		if a.minVersion < 0 || a.minVersion > a.maxVersion || a.maxVersion > probe.MaxVersion() {
			return nil, fmt.Errorf("api key %d (%s): versions %d-%d outside kmsg's 0-%d",
				a.key, a.name, a.minVersion, a.maxVersion, probe.MaxVersion())
		}
		if a.handle == nil {
			return nil, fmt.Errorf("api key %d (%s) has no handler", a.key, a.name)
		}
		r.byKey[a.key] = a
		r.list = append(r.list, a)
	}
	sort.Slice(r.list, func(i, j int) bool { return r.list[i].key < r.list[j].key })
	return r, nil
}

// apiVersionsKeys is the ApiVersions table: every registered API, sorted by key.
func (r *registry) apiVersionsKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(r.list))
	for _, a := range r.list {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey = a.key
		k.MinVersion = a.minVersion
		k.MaxVersion = a.maxVersion
		keys = append(keys, k)
	}
	return keys
}
