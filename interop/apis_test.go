package interop

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The API keys a suite needs beyond the data path, so that a broker that
// does not serve them yet fails the suite with a message naming them
// (the clients' own errors are rarely that clear). The check only adds an
// error: the client still runs, and its own failure is reported too.
var (
	groupAPIs = []int16{
		int16(kmsg.FindCoordinator), int16(kmsg.JoinGroup), int16(kmsg.SyncGroup), int16(kmsg.Heartbeat),
		int16(kmsg.LeaveGroup), int16(kmsg.OffsetCommit), int16(kmsg.OffsetFetch),
	}
	describeClusterAPI = int16(kmsg.DescribeCluster)
	describeConfigsAPI = int16(kmsg.DescribeConfigs)
)

// requireAPIs asks every broker of tg for its ApiVersions and records a
// test error for each key in keys that one of them does not advertise.
func requireAPIs(t *testing.T, tg *target, what string, keys ...int16) {
	t.Helper()
	for _, b := range tg.brokers {
		missing, err := missingAPIs(b.KafkaAddr, keys)
		if err != nil {
			t.Errorf("ApiVersions from node %d: %v", b.ID, err)
			continue
		}
		if len(missing) > 0 {
			t.Errorf("node %d does not serve %s needed for %s: the broker lacks these APIs, so this suite cannot pass yet", b.ID, strings.Join(missing, ", "), what)
		}
	}
}

func missingAPIs(addr string, keys []int16) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if resp.ErrorCode != 0 {
		return nil, fmt.Errorf("error code %d", resp.ErrorCode)
	}
	have := map[int16]bool{}
	for _, k := range resp.ApiKeys {
		have[k.ApiKey] = true
	}
	var missing []string
	for _, k := range keys {
		if !have[k] {
			missing = append(missing, fmt.Sprintf("%s (key %d)", kmsg.NameForKey(k), k))
		}
	}
	sort.Strings(missing)
	return missing, nil
}
