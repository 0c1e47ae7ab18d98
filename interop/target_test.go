package interop

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tidemark/tidemark/brokerproc"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// stopTimeout bounds a broker's clean shutdown after SIGTERM; the
	// broker's own grace for in-flight requests is 5 s.
	stopTimeout = 30 * time.Second
	// readyTopic is created on every target to learn that it elects
	// leaders and serves metadata.
	readyTopic = "interop.ready"
	// readyPollInterval spaces metadata polls while waiting for readiness.
	readyPollInterval = 200 * time.Millisecond
)

// target is one cluster under test: one broker, or three with RF 3.
type target struct {
	name    string
	c       *brokerproc.Cluster // nil if it could not be started
	brokers []*brokerproc.Broker
}

// replicationFactor is what topics on this target are created with.
func (tg *target) replicationFactor() int16 { return int16(len(tg.brokers)) }

// addrs are the Kafka addresses of every broker.
func (tg *target) addrs() []string {
	var out []string
	for _, b := range tg.brokers {
		out = append(out, b.KafkaAddr)
	}
	return out
}

// bootstrap is the comma-separated bootstrap list clients are given.
func (tg *target) bootstrap() string { return strings.Join(tg.addrs(), ",") }

// startTarget starts n brokers under dir, each in dir/node-<id> (data in
// data/, log in broker.log), without the developer's TIDEMARK_* settings
// and killed with the test binary. On error the brokers already started
// are stopped.
func startTarget(bin, dir, name string, n int) (*target, error) {
	c, err := brokerproc.Start(brokerproc.Config{
		Binary: bin, Dir: dir, N: n,
		Env:          brokerproc.CleanEnv(),
		DeathSignal:  syscall.SIGTERM,
		StopTimeout:  stopTimeout,
		PollInterval: readyPollInterval,
		Paths: func(id int32) (string, string) {
			nodeDir := filepath.Join(dir, "node-"+strconv.Itoa(int(id)))
			return filepath.Join(nodeDir, "data"), filepath.Join(nodeDir, "broker.log")
		},
	})
	if err != nil {
		return &target{name: name}, err
	}
	return &target{name: name, c: c, brokers: c.Brokers}, nil
}

// stop sends SIGTERM to every broker and waits for each to exit; a broker
// that exits non-zero, or not within stopTimeout (then killed), is an
// error.
func (tg *target) stop() []error {
	if tg.c == nil {
		return nil
	}
	return tg.c.StopAll()
}

// exited reports the brokers that are no longer running, for messages.
func (tg *target) exited() []string {
	var out []string
	for _, b := range tg.brokers {
		if done, err := b.Exited(); done {
			out = append(out, fmt.Sprintf("node %d exited: %v (log %s)", b.ID, err, b.LogPath))
		}
	}
	return out
}

// logPaths lists the brokers' log files, for failure messages.
func (tg *target) logPaths() string {
	var out []string
	for _, b := range tg.brokers {
		out = append(out, fmt.Sprintf("node %d: %s", b.ID, b.LogPath))
	}
	return strings.Join(out, ", ")
}

// waitReady creates readyTopic (RF = cluster size) and waits until
// metadata lists every broker and a leader for its partition.
func (tg *target) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.addrs()...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	created := false
	var last error
	for {
		if gone := tg.exited(); len(gone) > 0 {
			return errors.New(strings.Join(gone, "; "))
		}
		if !created {
			_, err := adm.CreateTopic(ctx, 1, tg.replicationFactor(), nil, readyTopic)
			if err == nil || strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
				created = true
			} else {
				last = fmt.Errorf("create %s: %w", readyTopic, err)
			}
		}
		if created {
			last = readyMetadata(ctx, adm, len(tg.brokers))
			if last == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready within %v: %v (logs: %s)", timeout, last, tg.logPaths())
		case <-time.After(readyPollInterval):
		}
	}
}

func readyMetadata(ctx context.Context, adm *kadm.Client, brokers int) error {
	md, err := adm.Metadata(ctx, readyTopic)
	if err != nil {
		return err
	}
	if len(md.Brokers) != brokers {
		return fmt.Errorf("metadata lists %d brokers, want %d", len(md.Brokers), brokers)
	}
	td, ok := md.Topics[readyTopic]
	if !ok || td.Err != nil {
		return fmt.Errorf("topic %s: present %v, error %v", readyTopic, ok, td.Err)
	}
	for p, pd := range td.Partitions {
		if pd.Err != nil || pd.Leader < 0 {
			return fmt.Errorf("partition %d: leader %d, error %v", p, pd.Leader, pd.Err)
		}
	}
	if len(td.Partitions) == 0 {
		return fmt.Errorf("topic %s has no partitions", readyTopic)
	}
	return nil
}
