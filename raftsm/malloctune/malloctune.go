// Package malloctune starts a process again with glibc malloc tuned for
// pebble's memtables, the one allocation pattern in a broker that the
// defaults serve badly.
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
// glibc reads GLIBC_TUNABLES only when a process starts, so Reexec replaces
// the running program with itself, once, before it does anything else.
package malloctune

import "strings"

// Tunables is what Reexec puts into GLIBC_TUNABLES (glibc 2.35 or later;
// older versions ignore what they do not know). mmap_threshold is the
// largest value glibc accepts (32 MiB): blocks below it come from the heap.
const Tunables = "glibc.malloc.hugetlb=1" +
	":glibc.malloc.arena_max=1" +
	":glibc.malloc.mmap_threshold=33554432" +
	":glibc.malloc.trim_threshold=4294967296"

// marker is how Env recognises an environment it already tuned, or one
// whose owner chose malloc's huge-page behaviour themselves.
const marker = "glibc.malloc.hugetlb"

// Env returns environ with Tunables added to GLIBC_TUNABLES, and whether it
// changed anything. An environment that already sets glibc.malloc.hugetlb
// is returned as it is, so a re-executed process does not loop and an
// operator's own choice stands. Tunables the operator set for other things
// follow ours, so theirs win where both name one.
func Env(environ []string) ([]string, bool) {
	const key = "GLIBC_TUNABLES="
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, kv := range environ {
		if !strings.HasPrefix(kv, key) {
			out = append(out, kv)
			continue
		}
		if strings.Contains(kv, marker) {
			return environ, false
		}
		found = true
		if v := strings.TrimPrefix(kv, key); v != "" {
			out = append(out, key+Tunables+":"+v)
		} else {
			out = append(out, key+Tunables)
		}
	}
	if !found {
		out = append(out, key+Tunables)
	}
	return out, true
}
