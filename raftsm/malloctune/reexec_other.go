//go:build !linux || !cgo

package malloctune

// Reexec does nothing where pebble does not use glibc malloc (without cgo
// its memtables live on the Go heap) or the platform is not Linux.
func Reexec() error { return nil }
