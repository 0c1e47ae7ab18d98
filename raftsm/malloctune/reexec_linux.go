//go:build linux && cgo

package malloctune

import (
	"fmt"
	"os"
	"syscall"
)

// Reexec replaces the process with the same program, arguments and
// environment plus Tunables and GoDebug, unless the environment already has
// them. It returns only if there was nothing to do (nil) or the exec failed;
// the caller then carries on with the defaults, which are slower but
// correct. Call it first thing in main (or TestMain), before any goroutine
// or file descriptor the new image would not know about.
func Reexec() error {
	env, changed := Env(os.Environ())
	if !changed {
		return nil
	}
	if err := syscall.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("restart with tuned malloc (GLIBC_TUNABLES): %w", err)
	}
	return nil // not reached
}
