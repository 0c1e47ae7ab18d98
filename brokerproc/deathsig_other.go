//go:build !linux

package brokerproc

import (
	"os/exec"
	"syscall"
)

// SetDeathSignal: only Linux has a parent-death signal; elsewhere a
// harness killed without its cleanup may leave brokers running.
func SetDeathSignal(*exec.Cmd, syscall.Signal) {}
