// Package brokerproc runs bin/broker processes on loopback, for tests,
// benchmarks and fault campaigns (nemesis/, cmd/bench, interop/).
//
// Start launches n brokers with the flags a user would give them (node id,
// data dir, Kafka and Raft addresses, peers) plus the caller's extra flags,
// each writing stdout and stderr to its own log file. A Cluster then kills
// (SIGKILL), stops (SIGTERM, SIGKILL after a timeout), restarts, pauses
// (SIGSTOP), resumes (SIGCONT) and wipes brokers, waits until every broker
// is registered, creates topics and waits for (preferred) leaders, names a
// partition's leader, and reads a broker's RSS and CPU time from /proc.
//
// Two hooks let a caller place brokers elsewhere than on free loopback
// ports: Config.Addrs picks each broker's addresses and Config.Command
// wraps its command line (nemesis runs each broker in its own network
// namespace through "ip netns exec"). Partitions stay with the caller.
//
// Every timeout here is a safety net, never an assertion. A Cluster's
// methods are not safe for concurrent use: one goroutine drives it.
package brokerproc
