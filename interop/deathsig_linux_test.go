package interop

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the kernel send sig to cmd's process when the test
// binary dies, so that a test run killed by go test's -timeout (which skips
// TestMain's cleanup) leaves no broker or client running.
func dieWithTest(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
}
