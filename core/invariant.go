package core

import "fmt"

// Assert panics when an invariant does not hold. name identifies the
// invariant ("offsets dense", "hw <= leo"); the panic message starts with
// "invariant violated: <name>" so that a crash report, a simulator failure
// and a grep over the code all point at the same rule.
//
// Assert is for core's own rules only. Input from outside (clients, disk,
// the network) is validated and answered with an *Error, never asserted.
func Assert(cond bool, name string, format string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("invariant violated: %s: %s", name, fmt.Sprintf(format, args...)))
	}
}
