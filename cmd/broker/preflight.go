package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// preflight checks what parseConfig cannot without touching the machine,
// so that a bad setup fails with one line before dragonboat or pebble
// start (and before a fresh data dir gets an identity): the data dir is a
// readable, writable directory that no other process uses, and both ports
// are free. It returns the data dir's lock, which the caller holds until
// it exits.
func preflight(cfg brokerConfig) (lock *os.File, err error) {
	if err := checkDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	if err := checkPortFree("--raft-addr", cfg.RaftAddr); err != nil {
		return nil, err
	}
	// net/ (the Kafka wire protocol) will own this listener. Until it lands
	// the broker only makes sure the port is free, so that a configuration
	// which will clash with another process fails now rather than later.
	if err := checkPortFree("--kafka-addr", cfg.KafkaListenAddr); err != nil {
		return nil, err
	}
	return lock, nil
}

const lockFile = "broker.lock"

// lockDataDir takes an exclusive flock on <dir>/broker.lock and writes this
// process's id into it. pebble and dragonboat lock their own directories
// too, but at the pinned pebble version a second process that finds
// state/ locked panics inside pebble.Open (a double close on its error
// path) instead of returning an error: this lock turns that case into one
// line. flock and the fcntl locks pebble and dragonboat use do not
// interact.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: cannot open %s: %s", dir, lockFile, reason(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			holder = " (pid " + strings.TrimSpace(string(b)) + ")"
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by another process%s: is another broker running on it?", dir, holder)
		}
		return nil, fmt.Errorf("data dir %s: cannot lock %s: %s", dir, lockFile, reason(err))
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// checkDataDir creates dir if needed and proves it readable and writable by
// listing it and creating, syncing and removing a file in it.
func checkDataDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create data dir %s: %s", dir, reason(err))
	}
	if _, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("data dir %s is not readable: %s", dir, reason(err))
	}
	probe := filepath.Join(dir, ".write-check")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %s", dir, reason(err))
	}
	_, werr := f.Write([]byte("tidemark\n"))
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	rerr := os.Remove(probe)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return fmt.Errorf("data dir %s is not writable: %s", dir, reason(err))
	}
	return nil
}

// checkPortFree listens on addr and closes the listener again.
func checkPortFree(flagName, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s %s: address already in use (is another broker running?)", flagName, addr)
		}
		return fmt.Errorf("%s %s: cannot listen: %s", flagName, addr, reason(err))
	}
	return l.Close()
}

// reason is the innermost message of err (for *os.PathError, the errno
// text), so that a message names the path once.
func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// oneLine flattens a message for the single stderr line of a failed start.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}
