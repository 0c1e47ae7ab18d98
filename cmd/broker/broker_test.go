package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/brokerproc"
)

// These tests run the real binary: built once per test run, started with a
// temp data dir and free loopback ports, and judged by its stderr and exit
// code, as an operator would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func brokerBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the broker binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tidemark-broker-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "broker")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a running broker whose stderr lines are collected as they come.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	started time.Time

	mu    sync.Mutex
	lines []string
	more  chan struct{} // receives after each new line and at EOF
	eof   bool
	done  chan struct{} // closed when the process has exited
	err   error         // Wait's result
}

func startBroker(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(brokerBinary(t), args...)
	cmd.Env = brokerproc.CleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, more: make(chan struct{}, 1), done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stderr)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("broker stderr:\n%s", strings.Join(p.snapshot(), "\n"))
		}
	})
	return p
}

func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.mu.Unlock()
		p.notify()
	}
	p.mu.Lock()
	p.eof = true
	p.mu.Unlock()
	p.notify()
	p.err = p.cmd.Wait() // after stderr is drained, as exec requires
	close(p.done)
}

func (p *proc) notify() {
	select {
	case p.more <- struct{}{}:
	default:
	}
}

func (p *proc) snapshot() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitLine waits for a stderr line containing want and returns how long
// after the start it came.
func (p *proc) waitLine(want string) time.Duration {
	p.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, want) {
				p.mu.Unlock()
				return time.Since(p.started)
			}
		}
		eof := p.eof
		p.mu.Unlock()
		if eof {
			p.t.Fatalf("broker exited without logging %q", want)
		}
		select {
		case <-p.more:
		case <-timeout:
			p.t.Fatalf("no %q line within 30s", want)
		}
	}
}

// exit waits for the process to exit and returns its exit code.
func (p *proc) exit() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatal("broker did not exit within 30s")
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	p.t.Fatalf("wait: %v", p.err)
	return -1
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

func TestBrokerStartsAndStopsCleanly(t *testing.T) {
	dataDir := t.TempDir()
	kafkaAddr := freeAddr(t)
	args := []string{"--data-dir", dataDir, "--kafka-addr", kafkaAddr, "--raft-addr", freeAddr(t)}

	p := startBroker(t, args...)
	started := p.waitLine(`msg="node started"`)
	p.waitLine(`msg="kafka listener started"`)
	// A real Kafka client reaches the listener: franz-go negotiates
	// ApiVersions (opening at v5, answered with the KIP-511 fallback).
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	cancel()
	cl.Close()
	if err != nil || resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions through franz-go: %+v, %v", resp, err)
	}
	bootstrapped := p.waitLine(`msg="cluster bootstrapped"`)
	registered := p.waitLine("msg=registered")
	t.Logf("fresh start: node started after %v, cluster bootstrapped after %v, registered after %v",
		started.Round(time.Millisecond), bootstrapped.Round(time.Millisecond), registered.Round(time.Millisecond))
	p.waitLine(`msg="replica started"`)

	// A second broker on the same data dir (other ports) is refused while
	// the first runs.
	second := startBroker(t, "--data-dir", dataDir, "--kafka-addr", freeAddr(t), "--raft-addr", freeAddr(t))
	expectOneLineFailure(t, second, fmt.Sprintf("tidemark: data dir %s is in use by another process (pid %d): is another broker running on it?",
		dataDir, p.cmd.Process.Pid))

	p.signal(syscall.SIGTERM)
	if code := p.exit(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	p.waitLine(`msg="shutting down" signal=terminated`)
	p.waitLine(`msg="node stopped"`)
	for _, l := range p.snapshot() {
		if strings.Contains(l, "panic") || strings.HasPrefix(l, "goroutine ") {
			t.Errorf("stderr has a stack trace: %s", l)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "identity.json")); err != nil {
		t.Errorf("data dir has no identity: %v", err)
	}

	// A restart on the same data dir keeps its identity: it is already
	// registered, so it logs no new registration, only its replicas. SIGINT
	// stops it as SIGTERM does.
	p = startBroker(t, args...)
	p.waitLine("fresh_data_dir=false")
	restarted := p.waitLine(`msg="replica started"`)
	t.Logf("restart: first replica started after %v", restarted.Round(time.Millisecond))
	p.signal(syscall.SIGINT)
	if code := p.exit(); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
	p.waitLine(`msg="node stopped"`)
	for _, l := range p.snapshot() {
		if strings.Contains(l, "msg=registered") || strings.Contains(l, "new incarnation") {
			t.Errorf("restart re-registered: %s", l)
		}
	}

	// The data dir now belongs to node 1.
	p = startBroker(t, "--node-id", "2", "--data-dir", dataDir, "--kafka-addr", freeAddr(t), "--raft-addr", freeAddr(t))
	expectOneLineFailure(t, p, fmt.Sprintf("tidemark: data dir %s belongs to node 1, not node 2", dataDir))
}

// expectOneLineFailure checks that the broker exited with code 2 and wrote
// exactly want to stderr.
func expectOneLineFailure(t *testing.T, p *proc, want string) {
	t.Helper()
	if code := p.exit(); code != exitBadConfig {
		t.Errorf("exit code %d, want %d", code, exitBadConfig)
	}
	if lines := p.snapshot(); len(lines) != 1 || lines[0] != want {
		t.Errorf("stderr %q, want exactly one line %q", lines, want)
	}
}

func TestBrokerBadConfigExits2WithOneLine(t *testing.T) {
	// A port taken by another process, for the two "in use" cases.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().String()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	raft := freeAddr(t)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"raft port in use", []string{"--raft-addr", taken},
			"tidemark: --raft-addr " + taken + ": address already in use (is another broker running?)"},
		{"kafka port in use", []string{"--raft-addr", raft, "--kafka-addr", taken},
			"tidemark: --kafka-addr " + taken + ": address already in use (is another broker running?)"},
		{"peers without this node", []string{"--raft-addr", raft, "--peers", "2@127.0.0.1:1,3@127.0.0.1:2"},
			`tidemark: --peers "2@127.0.0.1:1,3@127.0.0.1:2": does not list this node (--node-id 1; listed: 2 3)`},
		{"data dir is a file", []string{"--raft-addr", raft, "--data-dir", notADir},
			"tidemark: data dir " + notADir + " is not a directory"},
		{"data dir under a file", []string{"--raft-addr", raft, "--data-dir", filepath.Join(notADir, "sub")},
			"tidemark: cannot create data dir " + filepath.Join(notADir, "sub") + ": not a directory"},
		{"unknown flag", []string{"--replication-factor", "3"},
			"tidemark: flag provided but not defined: --replication-factor (see --help)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data-dir", t.TempDir(), "--kafka-addr", freeAddr(t)}, tc.args...)
			expectOneLineFailure(t, startBroker(t, args...), tc.want)
		})
	}
}
