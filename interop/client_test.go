package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidemark/tidemark/brokerproc"
)

// clientTimeout bounds every client process. The scripts bound their own
// waits well below it (scriptWaitMs) and exit with what they have, so
// the Go side sees their partial results rather than a kill.
const clientTimeout = 90 * time.Second

// pipeWaitDelay bounds the wait for a killed client's output pipes, which a
// grandchild it started could otherwise hold open.
const pipeWaitDelay = 5 * time.Second

// scriptWaitMs is the bound given to the scripts for each of their waits
// (a consumer reaching the expected count, a group settling).
const scriptWaitMs = 20000

// debianPython is the interpreter Debian's python3-kafka and
// python3-confluent-kafka are installed for; another python3 on the PATH
// (pyenv) does not see them.
const debianPython = "/usr/bin/python3"

// runClient runs name with args (stdin given), bounded by clientTimeout,
// and returns its stdout. A non-zero exit or a timeout fails the test with
// both streams printed.
func runClient(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	return runClientWithin(t, clientTimeout, stdin, name, args...)
}

// runClientWithin is runClient with another bound, for clients that have
// no bound of their own.
func runClientWithin(t *testing.T, timeout time.Duration, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = pipeWaitDelay
	cmd.Env = brokerproc.CleanEnv()
	brokerproc.SetDeathSignal(cmd, syscall.SIGKILL)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v", filepath.Base(name), strings.Join(shortArgs(args), " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		reason := err.Error()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = "killed after " + timeout.String()
		}
		t.Fatalf("%s %s: %s\n--- stdout:\n%s\n--- stderr:\n%s", name, strings.Join(args, " "), reason, stdout.String(), tail(stderr.String()))
	}
	// The checks on the output come later: print the client's log lines
	// if any of them fails.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s %s stderr:\n%s", name, strings.Join(shortArgs(args), " "), tail(stderr.String()))
		}
	})
	return stdout.Bytes()
}

// runScript runs a JSON-in, JSON-out client script: input is marshalled to
// its stdin and its stdout is decoded into out. The script's own "error"
// field, when set, fails the test after the result is decoded, so that what
// was read is still checked and printed.
func runScript(t *testing.T, input any, out any, name string, args ...string) {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	stdout := runClient(t, in, name, args...)
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("%s: stdout is not the expected JSON: %v\n%s", name, err, stdout)
	}
}

// scriptPath is the absolute path of a script under this package.
func scriptPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// needTool fails the test when a client is missing: the installer should
// have put it there, so its absence is a setup failure, not a skip.
func needTool(t *testing.T, check func() error, what string) {
	t.Helper()
	if err := check(); err != nil {
		t.Fatalf("%s is missing (%v): run interop/install-deps.sh (make test does)", what, err)
	}
}

func toolOnPath(name string) func() error {
	return func() error { _, err := exec.LookPath(name); return err }
}

func pythonModule(module string) func() error {
	return func() error {
		out, err := exec.Command(debianPython, "-c", "import "+module).CombinedOutput()
		if err != nil {
			return errors.New(strings.TrimSpace(string(out)))
		}
		return nil
	}
}

func fileExists(path string) func() error {
	return func() error { _, err := os.Stat(path); return err }
}

// shortArgs elides long arguments in log lines.
func shortArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 60 {
			a = a[:57] + "..."
		}
		out[i] = a
	}
	return out
}

// tail keeps the end of a long stream for failure messages.
func tail(s string) string {
	const maxBytes = 8000
	if len(s) > maxBytes {
		return "...\n" + s[len(s)-maxBytes:]
	}
	return s
}
