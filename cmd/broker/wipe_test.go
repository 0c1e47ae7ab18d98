package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWipedBrokerProcessRejoins runs three broker processes, wipes one's
// data dir while it is stopped and starts it again with the same flags. It
// must not crash-loop (before join.go it died in dragonboat's "invalid
// commitTo index" panic): it joins the controller shard as a new replica,
// registers a new incarnation, starts its replicas, and stops cleanly.
func TestWipedBrokerProcessRejoins(t *testing.T) {
	type node struct{ raft, kafka, dir string }
	var nodes []node
	var peers []string
	for i := 1; i <= 3; i++ {
		n := node{raft: freeAddr(t), kafka: freeAddr(t), dir: t.TempDir()}
		nodes = append(nodes, n)
		peers = append(peers, fmt.Sprintf("%d@%s/%s", i, n.raft, n.kafka))
	}
	args := func(i int) []string {
		return []string{"--node-id", fmt.Sprint(i + 1), "--data-dir", nodes[i].dir, "--kafka-addr", nodes[i].kafka,
			"--raft-addr", nodes[i].raft, "--peers", strings.Join(peers, ",")}
	}
	procs := make([]*proc, 3)
	for i := range procs {
		procs[i] = startBroker(t, args(i)...)
	}
	for _, p := range procs {
		p.waitLine("msg=registered")
		p.waitLine(`msg="replica started"`)
	}

	// Wipe node 3 (not the bootstrapping node 1, so "cluster bootstrapped"
	// could not hide a second bootstrap).
	victim := 2
	procs[victim].signal(syscall.SIGTERM)
	if code := procs[victim].exit(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if err := os.RemoveAll(nodes[victim].dir); err != nil {
		t.Fatal(err)
	}
	p := startBroker(t, args(victim)...)
	p.waitLine("a peer knows this cluster")
	joined := p.waitLine(`msg="joined the controller shard"`)
	p.waitLine(`msg="registered as a new incarnation`)
	started := p.waitLine(`msg="replica started"`)
	t.Logf("wiped broker: joined the controller shard after %v, first replica after %v",
		joined.Round(time.Millisecond), started.Round(time.Millisecond))
	for _, q := range procs[:victim] {
		q.waitLine(`msg="membership: add replica"`)
	}
	procs[victim] = p
	for _, q := range procs {
		q.signal(syscall.SIGTERM)
	}
	for i, q := range procs {
		if code := q.exit(); code != 0 {
			t.Errorf("node %d: exit code %d after SIGTERM, want 0", i+1, code)
		}
		for _, l := range q.snapshot() {
			if strings.Contains(l, "panic") || strings.HasPrefix(l, "goroutine ") {
				t.Errorf("node %d: stderr has a stack trace: %s", i+1, l)
			}
		}
	}
}
