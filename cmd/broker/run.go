package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lni/dragonboat/v4/logger"

	kafkanet "github.com/tidemark/tidemark/net"
	"github.com/tidemark/tidemark/raftsm"
)

// shutdownGraceMs bounds how long in-flight Kafka requests may take to be
// answered at shutdown before their connections are closed.
const shutdownGraceMs = 5000

const (
	exitOK        = 0
	exitFailure   = 1 // shutdown failed, or a second signal cut it short
	exitBadConfig = 2 // could not start: the reason is the one stderr line
)

// run is the whole program; main only supplies the process's arguments,
// environment and streams.
func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, env)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return exitOK
	}
	if err != nil {
		return fail(stderr, err.Error())
	}
	lock, err := preflight(cfg)
	if err != nil {
		return fail(stderr, err.Error())
	}
	defer lock.Close() // held until the process exits; closing releases it

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(log) // pebble's and the standard logger's lines go through it too
	cfg.Log = log
	quietDragonboat(cfg.LogLevel)

	// Installed before the node starts, so a signal that arrives during
	// startup is not lost: it is handled as soon as StartNode returns.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	// A broker whose log reader went away (a pipe into a pager that was
	// closed) keeps running and still shuts down cleanly: its writes to
	// stderr fail instead of killing the process with SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)

	node, err := raftsm.StartNode(cfg.NodeConfig)
	if err != nil {
		return fail(stderr, startError(cfg, err))
	}
	log.Info("broker settings", "node", cfg.NodeID, "kafka_listen_addr", cfg.KafkaListenAddr,
		"default_replication_factor", cfg.DefaultReplicationFactor, "default_partitions", cfg.DefaultPartitions,
		"auto_create_topics", cfg.AutoCreateTopics, "glibc_tunables", env("GLIBC_TUNABLES"), "godebug", env("GODEBUG"))
	kafkaCluster := raftsm.NewKafkaCluster(node, raftsm.KafkaSettings{
		DefaultPartitions: cfg.DefaultPartitions, DefaultReplicationFactor: cfg.DefaultReplicationFactor,
		AutoCreateTopics: cfg.AutoCreateTopics,
	})
	kafka, err := kafkanet.New(kafkanet.Config{Log: log}, kafkaCluster)
	if err != nil {
		node.Close()
		return fail(stderr, err.Error())
	}
	ln, err := net.Listen("tcp", cfg.KafkaListenAddr)
	if err != nil { // preflight found the port free, but something took it since
		node.Close()
		return fail(stderr, fmt.Sprintf("--kafka-addr %s: %v", cfg.KafkaListenAddr, err))
	}
	// The Kafka listener also carries the join side channel: a broker with
	// a new data dir asks here whether the cluster exists and to be added
	// to the controller shard (raftsm/join.go).
	ln = node.WrapKafkaListener(ln)
	go func() {
		if err := kafka.Serve(ln); err != nil && !errors.Is(err, kafkanet.ErrServerClosed) {
			log.Error("kafka listener stopped", "err", err)
		}
	}()
	log.Info("kafka listener started", "addr", ln.Addr().String())
	if cfg.PprofAddr != "" {
		servePprof(cfg.PprofAddr, log)
	}

	sig := <-sigs
	log.Info("shutting down", "signal", sig.String())
	go func() {
		sig := <-sigs
		log.Error("second signal: exiting without a clean shutdown", "signal", sig.String())
		os.Exit(exitFailure)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGraceMs*time.Millisecond)
	if err := kafka.Shutdown(ctx); err != nil {
		log.Warn("kafka listener shutdown", "err", err)
	}
	cancel()
	if err := node.Close(); err != nil {
		log.Error("shutdown failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// fail writes the one line of a failed start.
func fail(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "tidemark: %s\n", oneLine(msg))
	return exitBadConfig
}

// startError explains StartNode's errors that are about the setup rather
// than a fault: dragonboat's ownership checks on raft/, raft/ or state/
// locked by another process, a Raft port taken after preflight. dragonboat's errors
// live in an internal package, so they are recognised by their text.
func startError(cfg brokerConfig, err error) string {
	raftDir := filepath.Join(cfg.DataDir, "raft")
	msg := err.Error()
	switch {
	case strings.Contains(msg, "not the owner of the data directory"):
		return fmt.Sprintf("%s was created for another raft address: start this data dir with the --raft-addr it was first started with (not %s)", raftDir, cfg.RaftAddr)
	case strings.Contains(msg, "hostname changed"):
		return fmt.Sprintf("%s was created on a host with another hostname: dragonboat refuses to move a Raft log between hosts", raftDir)
	case strings.Contains(msg, "failed to lock data directory"), errors.Is(err, syscall.EAGAIN):
		// Not another broker (preflight holds broker.lock), but a process
		// that opened raft/ or state/ directly.
		return fmt.Sprintf("data dir %s is in use by another process", cfg.DataDir)
	case strings.Contains(msg, "address already in use"):
		// preflight found the port free, but something took it since.
		return fmt.Sprintf("--raft-addr %s: address already in use (is another broker running?)", cfg.RaftAddr)
	}
	return msg
}

// quietDragonboat: dragonboat writes its own log lines to stderr (not
// through slog). raftsm keeps them at WARNING and above, but dragonboat's
// raft package logs every election step at WARNING (four lines per shard
// per election; raftsm's "leader changed" line already says what matters),
// and its config package warns on every start that Raft traffic is not TLS
// (it is not: TLS is listed as later work in DESIGN.md). Below debug level
// those two packages log errors only.
func quietDragonboat(level slog.Level) {
	if level <= slog.LevelDebug {
		return
	}
	for _, pkg := range []string{"raft", "config"} {
		logger.GetLogger(pkg).SetLevel(logger.ERROR)
	}
}
