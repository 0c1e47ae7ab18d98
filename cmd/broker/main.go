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

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
