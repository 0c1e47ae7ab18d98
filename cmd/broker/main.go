// Command broker runs one Tidemark broker: its dragonboat NodeHost with the
// controller shard and whatever partition and group shards the controller
// assigns to it (raftsm.Node), and the Kafka listener (net/); the APIs it
// serves are listed in docs/compatibility.md.
//
// Flags and their TIDEMARK_* environment variables are in config.go and in
// docs/operations.md. Exit codes: 0 after a clean shutdown on SIGINT or
// SIGTERM, 2 when the broker could not start (one line on stderr), 1 when
// shutdown failed or a second signal cut it short.
package main

import (
	"fmt"
	"os"

	"github.com/tidemark/tidemark/raftsm/malloctune"
)

func main() {
	// First, before any goroutine or file: on Linux this starts the
	// program again with glibc malloc tuned for pebble's memtables.
	if err := malloctune.Reexec(); err != nil {
		fmt.Fprintf(os.Stderr, "broker: warning: %v; continuing with glibc's defaults\n", err)
	}
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
