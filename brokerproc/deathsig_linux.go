package brokerproc

import (
	"os/exec"
	"syscall"
)

// SetDeathSignal makes the kernel send sig to cmd's process when the
// process that started it dies (Linux Pdeathsig), so that a harness killed
// without running its cleanup (go test's -timeout) leaves nothing running.
func SetDeathSignal(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
}
