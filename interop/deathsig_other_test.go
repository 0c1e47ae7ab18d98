//go:build !linux

package interop

import (
	"os/exec"
	"syscall"
)

// dieWithTest: only Linux has a parent-death signal; elsewhere a test run
// killed by go test's -timeout may leave brokers running.
func dieWithTest(*exec.Cmd, syscall.Signal) {}
