package nemesis

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// leaderCacheTTL bounds how long a cached partition leader is used before
// metadata is asked again (errors forget it at once).
const leaderCacheTTL = 2 * time.Second

// leaderCache remembers partition leaders for the raw requests of the
// direct reader, the offset reader and the final read, so that not every
// request costs a Metadata round trip. A stale entry only costs a failed
// read.
type leaderCache struct {
	mu      sync.Mutex
	leaders map[int32]int32
	at      map[int32]time.Time
}

func (lc *leaderCache) get(ctx context.Context, cl *kgo.Client, topic string, p int32) (int32, error) {
	lc.mu.Lock()
	if id, ok := lc.leaders[p]; ok && time.Since(lc.at[p]) < leaderCacheTTL {
		lc.mu.Unlock()
		return id, nil
	}
	lc.mu.Unlock()
	mctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	md, err := kadm.NewClient(cl).Metadata(mctx, topic)
	if err != nil {
		return -1, err
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.leaders == nil {
		lc.leaders, lc.at = map[int32]int32{}, map[int32]time.Time{}
	}
	for _, pd := range md.Topics[topic].Partitions {
		if pd.Err == nil && pd.Leader >= 0 {
			lc.leaders[pd.Partition], lc.at[pd.Partition] = pd.Leader, time.Now()
		}
	}
	id, ok := lc.leaders[p]
	if !ok {
		return -1, fmt.Errorf("%s/%d has no leader", topic, p)
	}
	return id, nil
}

func (lc *leaderCache) forget(p int32) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	delete(lc.leaders, p)
}
