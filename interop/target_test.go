package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
	brokers []*brokerProc
}

// brokerProc is one running broker process; its stderr goes to logPath.
type brokerProc struct {
	nodeID    int32
	kafkaAddr string
	logPath   string
	cmd       *exec.Cmd
	done      chan struct{} // closed when the process has exited
	err       error         // Wait's result, set before done is closed
}

// replicationFactor is what topics on this target are created with.
func (tg *target) replicationFactor() int16 { return int16(len(tg.brokers)) }

// addrs are the Kafka addresses of every broker.
func (tg *target) addrs() []string {
	var out []string
	for _, b := range tg.brokers {
		out = append(out, b.kafkaAddr)
	}
	return out
}

// bootstrap is the comma-separated bootstrap list clients are given.
func (tg *target) bootstrap() string { return strings.Join(tg.addrs(), ",") }

// startTarget starts n brokers under dir. On error the target returned (if
// any) holds the brokers already started, for stopAll.
func startTarget(bin, dir, name string, n int) (*target, error) {
	tg := &target{name: name}
	type ports struct{ kafka, raft string }
	var ps []ports
	var peers []string
	for i := 1; i <= n; i++ {
		k, err := freeAddr()
		if err != nil {
			return nil, err
		}
		r, err := freeAddr()
		if err != nil {
			return nil, err
		}
		ps = append(ps, ports{k, r})
		peers = append(peers, fmt.Sprintf("%d@%s", i, r))
	}
	for i, p := range ps {
		id := int32(i + 1)
		nodeDir := filepath.Join(dir, "node-"+strconv.Itoa(int(id)))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return tg, err
		}
		b, err := startBroker(bin, id, nodeDir, p.kafka, p.raft, strings.Join(peers, ","))
		if err != nil {
			return tg, fmt.Errorf("node %d: %w", id, err)
		}
		tg.brokers = append(tg.brokers, b)
	}
	return tg, nil
}

func startBroker(bin string, id int32, dir, kafkaAddr, raftAddr, peers string) (*brokerProc, error) {
	logPath := filepath.Join(dir, "broker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--node-id", strconv.Itoa(int(id)),
		"--data-dir", filepath.Join(dir, "data"),
		"--kafka-addr", kafkaAddr,
		"--raft-addr", raftAddr,
		"--peers", peers,
	)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithTest(cmd, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	b := &brokerProc{nodeID: id, kafkaAddr: kafkaAddr, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		b.err = cmd.Wait()
		logFile.Close()
		close(b.done)
	}()
	return b, nil
}

// stop sends SIGTERM to every broker and waits for each to exit; a broker
// that exits non-zero, or not within stopTimeout (then killed), is an
// error.
func (tg *target) stop() []error {
	for _, b := range tg.brokers {
		select {
		case <-b.done:
		default:
			b.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	var errs []error
	deadline := time.After(stopTimeout)
	for _, b := range tg.brokers {
		select {
		case <-b.done:
			if b.err != nil {
				errs = append(errs, fmt.Errorf("node %d exited after SIGTERM: %v (log %s)", b.nodeID, b.err, b.logPath))
			}
		case <-deadline:
			b.cmd.Process.Kill()
			<-b.done
			errs = append(errs, fmt.Errorf("node %d did not exit within %v of SIGTERM; killed (log %s)", b.nodeID, stopTimeout, b.logPath))
		}
	}
	return errs
}

// exited reports the brokers that are no longer running, for messages.
func (tg *target) exited() []string {
	var out []string
	for _, b := range tg.brokers {
		select {
		case <-b.done:
			out = append(out, fmt.Sprintf("node %d exited: %v (log %s)", b.nodeID, b.err, b.logPath))
		default:
		}
	}
	return out
}

// logPaths lists the brokers' log files, for failure messages.
func (tg *target) logPaths() string {
	var out []string
	for _, b := range tg.brokers {
		out = append(out, fmt.Sprintf("node %d: %s", b.nodeID, b.logPath))
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

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// cleanEnv is the environment without TIDEMARK_* variables, so that a
// developer's settings do not reach the brokers under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIDEMARK_") {
			env = append(env, kv)
		}
	}
	return env
}
