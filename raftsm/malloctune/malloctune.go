// Package malloctune starts a process again with glibc malloc tuned for
// pebble's memtables, and the Go runtime tuned for fetch responses: the
// two allocation patterns in a broker that the defaults serve badly, both
// by handing it freshly faulted pages again and again.
//
// pebble allocates each memtable arena (16 MiB in the Raft LogDB, 32 MiB in
// the state DB) with C calloc and frees it after the flush. glibc's
// defaults give such blocks fresh pages: large blocks come from mmap, freed
// heap memory goes back to the kernel, and every 4 KiB page is then faulted
// in and zeroed on first write. On the virtual machines we measure on a
// fault costs about 14 µs, i.e. about 3.5 µs for every KiB a replica writes
// into a memtable, twice per replica (Raft log and state): the largest
// single CPU cost of an RF 3 produce before this package
// (docs/benchmarks/README.md has the figures).
//
// The tunables keep one arena, never trim it, and ask for transparent huge
// pages on what glibc maps, so freed memtables are reused and new heap is
// faulted 2 MiB at a time. The price is a C heap (memtables and pebble's
// caches) that stays at its peak size; those are bounded by the LogDB and
// state DB configurations.
//
// The Go heap has the same problem with large short-lived buffers, such as
// a fetch response: GoDebug below.
//
// glibc reads GLIBC_TUNABLES and the runtime GODEBUG only when a process
// starts, so Reexec replaces the running program with itself, once, before
// it does anything else.
package malloctune

import "strings"

// Tunables is what Reexec puts into GLIBC_TUNABLES (glibc 2.35 or later;
// older versions ignore what they do not know). mmap_threshold is the
// largest value glibc accepts (32 MiB): blocks below it come from the heap.
const Tunables = "glibc.malloc.hugetlb=1" +
	":glibc.malloc.arena_max=1" +
	":glibc.malloc.mmap_threshold=33554432" +
	":glibc.malloc.trim_threshold=4294967296"

// GoDebug is what Reexec puts into GODEBUG: the Go runtime returns freed
// heap pages with MADV_FREE instead of MADV_DONTNEED, so a page the heap
// uses again is not faulted in and zeroed again unless the kernel needed
// it meanwhile. A broker serving consumers allocates a response of up to
// tens of MiB per fetch; with the default, a third of its CPU went into
// faulting those pages back in (docs/benchmarks/README.md). The price:
// freed pages count in RSS until the kernel reclaims them.
const GoDebug = "madvdontneed=0"

// tuning is one environment variable Env sets: a list of settings joined
// by sep, where marker present means the setting was already chosen.
type tuning struct {
	key, value, marker, sep string
}

var tunings = []tuning{
	{key: "GLIBC_TUNABLES", value: Tunables, marker: "glibc.malloc.hugetlb", sep: ":"},
	{key: "GODEBUG", value: GoDebug, marker: "madvdontneed", sep: ","},
}

// Env returns environ with Tunables added to GLIBC_TUNABLES and GoDebug to
// GODEBUG, and whether it changed anything. A variable that already makes
// the choice (glibc.malloc.hugetlb, madvdontneed) is left as it is, so a
// re-executed process does not loop and an operator's own choice stands.
// Settings the operator made for other things follow ours, so theirs win
// where both name one.
func Env(environ []string) ([]string, bool) {
	changed := false
	for _, t := range tunings {
		var c bool
		environ, c = t.apply(environ)
		changed = changed || c
	}
	return environ, changed
}

func (t tuning) apply(environ []string) ([]string, bool) {
	prefix := t.key + "="
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, kv := range environ {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
			continue
		}
		if strings.Contains(kv, t.marker) {
			return environ, false
		}
		found = true
		if v := strings.TrimPrefix(kv, prefix); v != "" {
			out = append(out, prefix+t.value+t.sep+v)
		} else {
			out = append(out, prefix+t.value)
		}
	}
	if !found {
		out = append(out, prefix+t.value)
	}
	return out, true
}
