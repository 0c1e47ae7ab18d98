//go:build !unix

package net

// mapBuffer is not available here: the pool falls back to the Go heap.
func mapBuffer(int) ([]byte, bool) { return nil, false }

func unmapBuffer([]byte) {}
