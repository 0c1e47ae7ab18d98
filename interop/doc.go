// Package interop checks that unmodified Kafka clients work against real
// Tidemark brokers: kafkajs 2.2.4 (npm), kafka-python 2.0.2 and
// confluent-kafka-python (Debian packages, run with /usr/bin/python3), kcat
// (librdkafka) and IBM/sarama (Go).
//
// The package holds only tests. TestMain builds cmd/broker into a temp dir
// and starts two targets as real processes on free loopback ports, each with
// its own temp data dirs: "single" (one broker, RF 1) and "cluster3" (three
// brokers, RF 3). Every suite runs against both as subtests, with topic and
// group names unique to the subtest. At the end the brokers get SIGTERM and
// must exit 0; on any failure their logs are kept and their paths printed.
//
// The non-Go clients run as child processes, each bounded by a context
// timeout: the scripts in js/ and py/ print one JSON document on stdout
// that the Go side checks record by record (keys to partitions, per-key
// order, every acknowledged record read exactly once per reader or group,
// counts); on failure their stdout and stderr are printed.
//
// The clients are installed by install-deps.sh (apt-get for kcat,
// python3-kafka and python3-confluent-kafka; npm ci for kafkajs), which
// `make test` runs before the Go tests. A missing client fails its test
// with a message naming the installer; it is never skipped.
package interop
