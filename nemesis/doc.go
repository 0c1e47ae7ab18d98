// Package nemesis is a Jepsen-style fault test of the production path: it
// starts real bin/broker processes, drives them with real franz-go clients,
// injects faults on a schedule drawn from a seed, and checks the recorded
// history with linearizability/.
//
// A Run (run.go) is: start a Cluster (cluster.go, over brokerproc, which
// runs the bin/broker processes for every harness), create a topic (RF 3,
// several partitions), start the workload (workload.go: franz-go idempotent
// producers and raw never-retried plain producers (produce_raw.go) with
// keys, consumers in a group committing offsets through explicit
// OffsetCommit requests, direct partition readers issuing Fetch requests
// at explicit offsets), play a Schedule of faults
// (faults.go: SIGKILL and restart of a leader or a follower, SIGSTOP and
// SIGCONT, wiping a follower's data dir, rolling restart of all brokers,
// and Raft network partitions), heal, wait for the cluster to settle, read
// every partition from the start, and Check the history. On a failure every
// artefact (broker logs, history JSON, fault log, porcupine's
// visualisation) is kept in one directory.
//
// Network partitions need root: each broker runs in its own network
// namespace (netns.go) joined to a bridge, and a partition is a pair of
// blackhole routes between two namespaces. Without root the cluster runs on
// loopback and the schedule has no partition faults (a Run says so in its
// Report; it never counts a skipped fault as played).
//
// Every operation's outcome is what the client really learned: ok with the
// broker's answer, failed only when the broker's answer guarantees nothing
// was applied, unknown otherwise (timeouts, lost connections, client
// retries exhausted).
package nemesis
