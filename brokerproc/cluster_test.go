package brokerproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeBroker is a stand-in for bin/broker: it logs its arguments, marks
// its data dir, and runs until SIGTERM, on which it exits 0.
const fakeBroker = `#!/bin/sh
trap 'echo terminated; exit 0' TERM
echo "args: $*"
while [ $# -gt 0 ]; do
	if [ "$1" = "--data-dir" ]; then touch "$2/marker"; fi
	shift
done
echo ready
while :; do sleep 0.05; done
`

// testStopTimeout is a safety net for the fake broker's SIGTERM exit.
const testStopTimeout = 10 * time.Second

func startFake(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fake-broker")
	if err := os.WriteFile(bin, []byte(fakeBroker), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Binary, cfg.Dir, cfg.StopTimeout = bin, t.TempDir(), testStopTimeout
	c, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.StopAll() })
	return c
}

// waitLog waits until b's log holds want; the fake writes "args: ..."
// and then "ready" at once.
// It waits for the n-th occurrence (a restarted broker appends to its log).
func waitLog(t *testing.T, b *Broker, want string, n int) string {
	t.Helper()
	deadline := time.Now().Add(testStopTimeout)
	for {
		raw, _ := os.ReadFile(b.LogPath)
		if strings.Count(string(raw), want) >= n {
			return string(raw)
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of broker %d lacks %d× %q: %s", b.ID, n, want, raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartPassesFlagsAndPeers(t *testing.T) {
	c := startFake(t, Config{N: 3, Args: []string{"--auto-create-topics=false"}, Pprof: true, PeersWithKafka: true})
	var peers []string
	for _, b := range c.Brokers {
		peers = append(peers, strings.Join([]string{itoa(b.ID) + "@" + b.RaftAddr, b.KafkaAddr}, "/"))
	}
	for _, b := range c.Brokers {
		log := waitLog(t, b, "ready", 1)
		for _, want := range []string{
			"--node-id " + itoa(b.ID), "--data-dir " + b.DataDir, "--kafka-addr " + b.KafkaAddr,
			"--raft-addr " + b.RaftAddr, "--peers " + strings.Join(peers, ","),
			"--auto-create-topics=false", "--pprof-addr " + b.PprofAddr,
		} {
			if !strings.Contains(log, want) {
				t.Errorf("broker %d: command line lacks %q: %s", b.ID, want, log)
			}
		}
		if b.PprofAddr == "" || b.DataDir != filepath.Join(c.Dir, "node-"+itoa(b.ID)) {
			t.Errorf("broker %d: pprof %q, data dir %q", b.ID, b.PprofAddr, b.DataDir)
		}
	}
}

func TestLifecycle(t *testing.T) {
	c := startFake(t, Config{N: 2, DeathSignal: syscall.SIGKILL})
	b := c.ByID(2)
	waitLog(t, b, "ready", 1)
	if rss, err := b.RSS(); err != nil || rss <= 0 {
		t.Errorf("RSS: %d, %v", rss, err)
	}
	if _, err := b.CPUTime(); err != nil {
		t.Errorf("CPUTime: %v", err)
	}
	if err := c.Pause(b); err != nil || !b.Paused() {
		t.Fatalf("Pause: %v, paused %v", err, b.Paused())
	}
	c.ResumeAll()
	if b.Paused() {
		t.Fatal("still paused after ResumeAll")
	}
	c.Kill(b)
	if b.Running() {
		t.Fatal("running after Kill")
	}
	if done, err := b.Exited(); !done || err == nil {
		t.Errorf("after SIGKILL: exited %v, err %v; want a signal error", done, err)
	}
	old := filepath.Join(b.DataDir, "old")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Wipe(b); err != nil {
		t.Fatal(err)
	}
	waitLog(t, b, "ready", 2)
	if _, err := os.Stat(filepath.Join(b.DataDir, "marker")); err != nil {
		t.Errorf("wiped broker did not get its data dir back: %v", err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("Wipe left %s: %v", old, err)
	}
	if err := c.Start(b); err == nil {
		t.Error("Start of a running broker succeeded")
	}
	// A paused broker still stops cleanly: StopAll resumes it first.
	if err := c.Pause(c.ByID(1)); err != nil {
		t.Fatal(err)
	}
	if errs := c.StopAll(); len(errs) != 0 {
		t.Fatalf("StopAll: %v", errs)
	}
	for _, b := range c.Brokers {
		if b.Running() {
			t.Errorf("broker %d running after StopAll", b.ID)
		}
		waitLog(t, b, "terminated", 1)
	}
}

func TestHooks(t *testing.T) {
	nodes := t.TempDir()
	var wrapped []int32
	c := startFake(t, Config{N: 2,
		Addrs: func(id int32) (string, string) {
			return "10.0.0." + itoa(id) + ":9092", "10.0.0." + itoa(id) + ":9093"
		},
		Paths: func(id int32) (string, string) {
			dir := filepath.Join(nodes, "node-"+itoa(id))
			return filepath.Join(dir, "data"), filepath.Join(dir, "broker.log")
		},
		Command: func(b *Broker, binary string, args []string) *exec.Cmd {
			wrapped = append(wrapped, b.ID)
			return exec.Command("/bin/sh", append([]string{binary}, args...)...)
		},
	})
	if len(wrapped) != 2 || wrapped[0] != 1 || wrapped[1] != 2 {
		t.Errorf("Command hook called for %v, want [1 2]", wrapped)
	}
	for _, b := range c.Brokers {
		log := waitLog(t, b, "ready", 1)
		if want := "--peers 1@10.0.0.1:9093,2@10.0.0.2:9093"; !strings.Contains(log, want) {
			t.Errorf("broker %d: command line lacks %q: %s", b.ID, want, log)
		}
		if b.KafkaAddr != "10.0.0."+itoa(b.ID)+":9092" {
			t.Errorf("broker %d: Kafka address %s", b.ID, b.KafkaAddr)
		}
		if _, err := os.Stat(filepath.Join(b.DataDir, "marker")); err != nil {
			t.Errorf("broker %d: data dir not created where Paths says: %v", b.ID, err)
		}
	}
}

func itoa(id int32) string { return strconv.Itoa(int(id)) }
