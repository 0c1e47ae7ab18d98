// Package linearizability will check recorded client histories: porcupine
// models of a partition log and of committed group offsets, and Jepsen-style
// linear-time checks. (Issue: linearizability/.)
package linearizability
