//go:build invariants

package core

// ExpensiveChecks: see expensive_off.go.
const ExpensiveChecks = true
