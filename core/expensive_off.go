//go:build !invariants

package core

// ExpensiveChecks turns on invariant checks that cost more than O(1) per
// command (rescanning a log, re-deriving an assignment). Tests and the
// simulator build with -tags invariants; production does not.
const ExpensiveChecks = false
