package malloctune

import (
	"slices"
	"testing"
)

func TestEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		changed bool
	}{
		{"absent", []string{"A=1"}, []string{"A=1", "GLIBC_TUNABLES=" + Tunables}, true},
		{"empty", []string{"GLIBC_TUNABLES=", "A=1"}, []string{"GLIBC_TUNABLES=" + Tunables, "A=1"}, true},
		{"operator's other tunables follow ours", []string{"GLIBC_TUNABLES=glibc.malloc.tcache_count=0"},
			[]string{"GLIBC_TUNABLES=" + Tunables + ":glibc.malloc.tcache_count=0"}, true},
		{"already tuned", []string{"GLIBC_TUNABLES=" + Tunables}, []string{"GLIBC_TUNABLES=" + Tunables}, false},
		{"operator chose hugetlb", []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}, []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}, false},
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
