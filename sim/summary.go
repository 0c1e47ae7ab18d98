package sim

import (
	"fmt"
	"strings"
)

// Summary is the report's human summary: ticks, operations, faults fired
// by kind, leader changes, and the verdict.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "simulated %dms (%d ticks), %d events, %d client ops (%d ok), %d leader changes\n",
		r.SimulatedMs, r.SimulatedMs/tickMs, r.Events, r.Ops, r.OpsOK, r.LeaderChanges)
	b.WriteString("faults:")
	for k := FaultKind(0); k < faultKinds; k++ {
		if r.Faults[k] > 0 {
			fmt.Fprintf(&b, " %s=%d", k, r.Faults[k])
		}
	}
	b.WriteString("\n")
	if r.Failure != nil {
		fmt.Fprintf(&b, "FAILED: %s\n", r.Failure.Error())
	} else {
		b.WriteString("passed\n")
	}
	return b.String()
}

// FaultNames lists the fault kinds in FaultCounts order.
func FaultNames() []string { return faultNames[:] }
