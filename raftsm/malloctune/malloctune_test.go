package malloctune

import (
	"slices"
	"testing"
)

func TestEnv(t *testing.T) {
	glibc, godebug := "GLIBC_TUNABLES="+Tunables, "GODEBUG="+GoDebug
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		changed bool
	}{
		{"absent", []string{"A=1"}, []string{"A=1", glibc, godebug}, true},
		{"empty", []string{"GLIBC_TUNABLES=", "A=1", "GODEBUG="}, []string{glibc, "A=1", godebug}, true},
		{"operator's other settings follow ours", []string{"GLIBC_TUNABLES=glibc.malloc.tcache_count=0", "GODEBUG=gctrace=1"},
			[]string{glibc + ":glibc.malloc.tcache_count=0", godebug + ",gctrace=1"}, true},
		{"already tuned", []string{glibc, godebug}, []string{glibc, godebug}, false},
		{"operator chose hugetlb", []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}, []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0", godebug}, true},
		{"operator chose both", []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0", "GODEBUG=madvdontneed=1"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0", "GODEBUG=madvdontneed=1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := Env(tc.in)
			if changed != tc.changed || !slices.Equal(got, tc.want) {
				t.Fatalf("Env(%q) = %q, %v; want %q, %v", tc.in, got, changed, tc.want, tc.changed)
			}
			if again, changed := Env(got); changed || !slices.Equal(again, got) {
				t.Fatalf("Env is not idempotent: %q -> %q", got, again)
			}
		})
	}
}
