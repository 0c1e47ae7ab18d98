package raftsm

import (
	"fmt"
	"os"
	"testing"

	"github.com/tidemark/tidemark/raftsm/malloctune"
)

// TestMain runs the tests and benchmarks with malloc tuned as bin/broker
// tunes it, so BenchmarkPartitionPropose measures the production setting.
func TestMain(m *testing.M) {
	if err := malloctune.Reexec(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(m.Run())
}
