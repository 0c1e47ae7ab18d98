//go:build unix

package net

import "syscall"

// mapBuffer maps size bytes of anonymous memory outside the Go heap. The
// pool never unmaps it.
func mapBuffer(size int) ([]byte, bool) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	return b, err == nil
}

// unmapBuffer gives back a buffer mapBuffer returned, whole.
func unmapBuffer(b []byte) { _ = syscall.Munmap(b) }
