package nemesis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// FaultKind names one kind of fault. The names are stable: summaries and
// docs/testing.md use them.
type FaultKind string

const (
	// KillLeader: SIGKILL the leader of a random partition, restart it
	// after the hold.
	KillLeader FaultKind = "kill-leader"
	// KillFollower: SIGKILL a follower of a random partition, restart it
	// after the hold.
	KillFollower FaultKind = "kill-follower"
	// Pause: SIGSTOP a random broker, SIGCONT after the hold.
	Pause FaultKind = "pause"
	// WipeFollower: SIGKILL a follower, delete its data dir, start it: it
	// rejoins as a new incarnation and is caught up by snapshot.
	WipeFollower FaultKind = "wipe-follower"
	// RollingRestart: stop (SIGTERM) and start every broker in turn,
	// waiting for the cluster to be ready after each.
	RollingRestart FaultKind = "rolling-restart"
	// IsolateOne: cut one random broker off from the others.
	IsolateOne FaultKind = "isolate-one"
	// IsolateLeader: cut the leader of a random partition off.
	IsolateLeader FaultKind = "isolate-leader"
	// Split: cut the brokers into two random non-empty sides (with 3
	// brokers a random 1|2 split; with 5, 2|3).
	Split FaultKind = "split"
)

// FaultKinds lists every kind, in summary order.
var FaultKinds = []FaultKind{KillLeader, KillFollower, Pause, WipeFollower, RollingRestart, IsolateOne, IsolateLeader, Split}

// partitionKinds need network namespaces.
var partitionKinds = []FaultKind{IsolateOne, IsolateLeader, Split}

// Schedule bounds, drawn per fault from the seed.
const (
	minHold = 2 * time.Second
	maxHold = 6 * time.Second
	minGap  = 2 * time.Second
	maxGap  = 5 * time.Second
)

// Fault is one scheduled fault. Its target is chosen when it is played
// (leaders move), from Pick.
type Fault struct {
	Kind FaultKind
	Hold time.Duration // how long the fault lasts before it is healed
	Gap  time.Duration // quiet time after healing
	Pick uint64        // chooses the partition or broker when played
}

// Schedule draws faults from rng: first every kind in kinds once, in a
// random order, then random kinds until the holds and gaps fill duration.
func Schedule(rng *rand.Rand, kinds []FaultKind, duration time.Duration) []Fault {
	draw := func(k FaultKind) Fault {
		return Fault{Kind: k,
			Hold: minHold + time.Duration(rng.Int64N(int64(maxHold-minHold))),
			Gap:  minGap + time.Duration(rng.Int64N(int64(maxGap-minGap))),
			Pick: rng.Uint64()}
	}
	var out []Fault
	var total time.Duration
	for _, i := range rng.Perm(len(kinds)) {
		f := draw(kinds[i])
		out = append(out, f)
		total += f.Hold + f.Gap
	}
	for total < duration {
		f := draw(kinds[rng.IntN(len(kinds))])
		out = append(out, f)
		total += f.Hold + f.Gap
	}
	return out
}

// FaultEvent is one line of the fault log.
type FaultEvent struct {
	At      time.Duration // since the run started
	Wall    time.Time
	Kind    FaultKind
	Message string
}

func (e FaultEvent) String() string {
	return fmt.Sprintf("%s +%8.3fs %-16s %s", e.Wall.UTC().Format("15:04:05.000"), e.At.Seconds(), e.Kind, e.Message)
}

// faultLog collects events and echoes them to out.
type faultLog struct {
	mu     sync.Mutex
	start  time.Time
	out    io.Writer
	events []FaultEvent
}

func (l *faultLog) add(kind FaultKind, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	e := FaultEvent{At: now.Sub(l.start), Wall: now, Kind: kind, Message: fmt.Sprintf(format, args...)}
	l.events = append(l.events, e)
	if l.out != nil {
		fmt.Fprintln(l.out, "nemesis:", e)
	}
}

func (l *faultLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// player plays faults against a cluster.
type player struct {
	c          *Cluster
	topic      string
	partitions int32
	log        *faultLog
}

// errSkipped: a fault found no target (no partition leader known); it is
// logged and not counted as played.
var errSkipped = errors.New("skipped")

// play injects f, holds it, heals it and waits for the cluster to be ready
// again. An error other than errSkipped means the cluster could not be
// brought back: the run fails with it.
func (pl *player) play(ctx context.Context, f Fault) error {
	p := int32(f.Pick % uint64(pl.partitions))
	n := len(pl.c.Brokers)
	switch f.Kind {
	case KillLeader, KillFollower, WipeFollower, IsolateLeader:
		leader, replicas, err := pl.c.Replicas(ctx, pl.topic, p)
		if err != nil {
			pl.log.add(f.Kind, "skipped: no leader of %s/%d: %v", pl.topic, p, err)
			return errSkipped
		}
		target := leader
		if f.Kind == KillFollower || f.Kind == WipeFollower {
			var others []*Broker
			for _, b := range replicas {
				if b != leader {
					others = append(others, b)
				}
			}
			if len(others) == 0 {
				pl.log.add(f.Kind, "skipped: %s/%d has no follower in metadata", pl.topic, p)
				return errSkipped
			}
			target = others[(f.Pick/uint64(pl.partitions))%uint64(len(others))]
		}
		role := "leader"
		if target != leader {
			role = "follower"
		}
		switch f.Kind {
		case KillLeader, KillFollower:
			pl.log.add(f.Kind, "SIGKILL broker %d (%s of %s/%d) for %v", target.ID, role, pl.topic, p, f.Hold)
			pl.c.Kill(target)
			sleep(ctx, f.Hold)
			if err := pl.c.Start(target); err != nil {
				return err
			}
			pl.log.add(f.Kind, "restarted broker %d", target.ID)
		case WipeFollower:
			pl.log.add(f.Kind, "SIGKILL broker %d (%s of %s/%d), wipe %s, restart", target.ID, role, pl.topic, p, target.DataDir)
			if err := pl.c.Wipe(target); err != nil {
				return err
			}
			sleep(ctx, f.Hold)
		case IsolateLeader:
			pl.log.add(f.Kind, "isolate broker %d (%s of %s/%d) for %v", target.ID, role, pl.topic, p, f.Hold)
			if err := pl.c.Partition([]int32{target.ID}); err != nil {
				return err
			}
			sleep(ctx, f.Hold)
			if err := pl.c.Heal(); err != nil {
				return err
			}
			pl.log.add(f.Kind, "healed")
		}
	case Pause:
		b := pl.c.Brokers[f.Pick%uint64(n)]
		pl.log.add(f.Kind, "SIGSTOP broker %d for %v", b.ID, f.Hold)
		if err := pl.c.Pause(b); err != nil {
			return err
		}
		sleep(ctx, f.Hold)
		if err := pl.c.Resume(b); err != nil {
			return err
		}
		pl.log.add(f.Kind, "SIGCONT broker %d", b.ID)
	case RollingRestart:
		for _, b := range pl.c.Brokers {
			pl.log.add(f.Kind, "SIGTERM broker %d", b.ID)
			pl.c.Stop(b)
			if err := pl.c.Start(b); err != nil {
				return err
			}
			// The next broker stops only once this one serves and every
			// partition has a leader again: one broker down at a time.
			if err := pl.c.WaitBroker(ctx, b); err != nil {
				return err
			}
			if err := pl.c.WaitLeaders(ctx, pl.topic, pl.partitions); err != nil {
				return err
			}
			pl.log.add(f.Kind, "broker %d back", b.ID)
		}
	case IsolateOne, Split:
		var side []int32
		if f.Kind == IsolateOne {
			side = []int32{pl.c.Brokers[f.Pick%uint64(n)].ID}
		} else {
			perm := rand.New(rand.NewPCG(f.Pick, 0)).Perm(n)
			for _, i := range perm[:n/2] {
				side = append(side, pl.c.Brokers[i].ID)
			}
			slices.Sort(side)
		}
		pl.log.add(f.Kind, "partition %v from the rest for %v", side, f.Hold)
		if err := pl.c.Partition(side); err != nil {
			return err
		}
		sleep(ctx, f.Hold)
		if err := pl.c.Heal(); err != nil {
			return err
		}
		pl.log.add(f.Kind, "healed")
	default:
		panic(fmt.Sprintf("nemesis: unknown fault kind %q", f.Kind))
	}
	if err := pl.c.WaitReady(ctx); err != nil {
		return err
	}
	for _, b := range pl.c.Brokers {
		if err := pl.c.WaitBroker(ctx, b); err != nil {
			return err
		}
	}
	if err := pl.c.WaitLeaders(ctx, pl.topic, pl.partitions); err != nil {
		return err
	}
	pl.log.add(f.Kind, "cluster ready; quiet for %v", f.Gap)
	sleep(ctx, f.Gap)
	return nil
}
