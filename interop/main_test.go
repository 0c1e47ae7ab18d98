package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// buildTimeout bounds `go build` of the broker.
	buildTimeout = 3 * time.Minute
	// readyTimeout bounds how long a target may take to elect leaders for
	// its readiness topic after its processes start.
	readyTimeout = 60 * time.Second
)

// targets are the clusters every suite runs against, started by TestMain.
var targets []*target

// workDir holds the broker binary, data dirs and logs of this run. It is
// removed when every test passed and kept (its path printed) otherwise.
var workDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	var err error
	workDir, err = os.MkdirTemp("", "tidemark-interop-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop: %v\n", err)
		return 1
	}
	defer func() {
		if code == 0 {
			os.RemoveAll(workDir)
			return
		}
		fmt.Fprintf(os.Stderr, "interop: broker logs kept in %s:\n", workDir)
		for _, tg := range targets {
			for _, b := range tg.brokers {
				fmt.Fprintf(os.Stderr, "  %s node %d: %s\n", tg.name, b.ID, b.LogPath)
			}
		}
	}()

	bin, err := buildBroker(workDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop: %v\n", err)
		return 1
	}
	for _, spec := range []struct {
		name  string
		nodes int
	}{{"single", 1}, {"cluster3", 3}} {
		tg, err := startTarget(bin, filepath.Join(workDir, spec.name), spec.name, spec.nodes)
		if tg != nil {
			targets = append(targets, tg)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "interop: start %s: %v\n", spec.name, err)
			stopAll()
			return 1
		}
	}
	// Readiness of both targets is awaited together: the clusters elect
	// their leaders at the same time.
	for _, tg := range targets {
		if err := tg.waitReady(readyTimeout); err != nil {
			fmt.Fprintf(os.Stderr, "interop: %s not ready: %v\n", tg.name, err)
			stopAll()
			return 1
		}
	}
	code = m.Run()
	if !stopAll() && code == 0 {
		code = 1
	}
	return code
}

// stopAll sends SIGTERM to every broker and waits for them; it reports
// whether every one exited 0, printing the reason for each that did not.
func stopAll() bool {
	ok := true
	for _, tg := range targets {
		for _, err := range tg.stop() {
			fmt.Fprintf(os.Stderr, "interop: %s: %v\n", tg.name, err)
			ok = false
		}
	}
	return ok
}

// buildBroker builds ./cmd/broker of this module into dir.
func buildBroker(dir string) (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "broker")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/broker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/broker: %v\n%s", err, out)
	}
	return bin, nil
}

// forEachTarget runs f as the subtests "single" and "cluster3".
func forEachTarget(t *testing.T, f func(t *testing.T, tg *target)) {
	t.Helper()
	if len(targets) == 0 {
		t.Fatal("no targets: TestMain did not start the brokers")
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) { f(t, tg) })
	}
}

// nameSeq makes names unique across repeats of a test (go test -count).
var nameSeq atomic.Int64

// uniqueName is a topic or group name unique to this test run: the test
// path (which names the target) and a sequence number; the brokers are
// fresh per run.
func uniqueName(t *testing.T, kind string) string {
	s := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("interop.%s.%s.%d", kind, s, nameSeq.Add(1))
}
