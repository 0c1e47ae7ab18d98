package controller

import (
	"fmt"
	"testing"
)

// TestBalanceExhaustive proves the balance bounds for small clusters
// without racks by exhausting the placement's state space. Placement only
// compares counts with each other and reads sid mod n, so a state is
// (leader counts minus their minimum, replica counts minus their minimum,
// sid mod n). From every starting phase with all counts equal (a fresh
// cluster), it explores every sequence of shard creations with any
// replication factor and checks each reachable state: preferred leaders
// differ by at most 1 and replicas by at most 2. The search is finite
// because these bounds hold, so it terminates exactly when it proves them.
func TestBalanceExhaustive(t *testing.T) {
	maxN := 6
	if testing.Short() {
		maxN = 4
	}
	for n := 1; n <= maxN; n++ {
		c := New(DefaultConfig())
		for _, b := range testBrokers(n) {
			c.addBroker(b, 0)
		}
		type state struct {
			counts string // leaders then replicas, normalised
			phase  int
		}
		encode := func() string {
			lmin, rmin := c.brokers[0].leaders, c.brokers[0].replicas
			for _, b := range c.brokers {
				lmin, rmin = min(lmin, b.leaders), min(rmin, b.replicas)
			}
			key := make([]byte, 0, 2*n)
			for _, id := range c.brokerIDs {
				b := c.brokers[id]
				b.leaders -= lmin
				b.replicas -= rmin
				key = append(key, byte(b.leaders), byte(b.replicas))
			}
			return string(key)
		}
		load := func(s state) {
			for i, id := range c.brokerIDs {
				c.brokers[id].leaders, c.brokers[id].replicas = int(s.counts[2*i]), int(s.counts[2*i+1])
			}
		}
		seen := map[state]bool{}
		var queue []state
		for p := 0; p < n; p++ {
			s := state{counts: string(make([]byte, 2*n)), phase: p}
			seen[s] = true
			queue = append(queue, s)
		}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for rf := 1; rf <= n; rf++ {
				load(s)
				chosen := c.place(ShardID(s.phase), rf)
				for _, id := range chosen {
					c.brokers[id].replicas++
				}
				c.brokers[chosen[0]].leaders++
				next := state{counts: encode(), phase: (s.phase + 1) % n}
				for i := 0; i < n; i++ {
					if l, r := next.counts[2*i], next.counts[2*i+1]; l > 1 || r > 2 {
						t.Fatalf("n=%d: from %v with rf %d placed %v and reached %v", n, s, rf, chosen, describe(next.counts))
					}
				}
				if !seen[next] {
					seen[next] = true
					queue = append(queue, next)
				}
			}
		}
		t.Logf("n=%d: %d reachable states, all within the bounds", n, len(seen))
	}
}

func describe(counts string) string {
	out := ""
	for i := 0; i < len(counts); i += 2 {
		out += fmt.Sprintf("[L%d R%d]", counts[i], counts[i+1])
	}
	return out
}
