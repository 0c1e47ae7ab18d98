package controller

import (
	"fmt"

	"github.com/tidemark/tidemark/core"
)

// tb is what the helpers need from *testing.T and *rapid.T alike.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func brokerInfo(id int32, rack string) BrokerInfo {
	return BrokerInfo{
		ID:          id,
		KafkaAddr:   fmt.Sprintf("b%d:9092", id),
		RaftAddr:    fmt.Sprintf("b%d:7000", id),
		Rack:        rack,
		Incarnation: uint64(id)*1000 + 1,
	}
}

func testBrokers(n int) []BrokerInfo {
	out := make([]BrokerInfo, n)
	for i := range out {
		out[i] = brokerInfo(int32(i), "")
	}
	return out
}

func topicID(n int) TopicID {
	var id TopicID
	id[0] = 0xAB
	id[14], id[15] = byte(n>>8), byte(n)
	return id
}

// newBootstrapped returns a controller bootstrapped with brokers 0..n-1.
func newBootstrapped(t tb, cfg Config, brokers []BrokerInfo, groupShards, groupRF int32) *Controller {
	t.Helper()
	c := New(cfg)
	res := c.Apply(Bootstrap{ClusterID: "test-cluster", NowMs: 1, GroupShardCount: groupShards,
		GroupReplicationFactor: groupRF, Brokers: brokers})
	mustOK(t, res)
	return c
}

func mustOK(t tb, res Result) Result {
	t.Helper()
	if err := ResultErr(res); err != nil {
		t.Fatalf("%T: unexpected error %v", res, err)
	}
	return res
}

func wantCode(t tb, res Result, code core.Code) {
	t.Helper()
	if got := core.CodeOf(asError(ResultErr(res))); got != code {
		t.Fatalf("%T: code %d (%v), want %d", res, got, ResultErr(res), code)
	}
}

// asError keeps a nil *core.Error a nil error.
func asError(e *core.Error) error {
	if e == nil {
		return nil
	}
	return e
}
