package nemesis

import (
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// reachable dials b's address from a's namespace on a closed port: a
// "Connection refused" proves the packet reached b's stack and came back.
func reachable(t *testing.T, nw *network, a, b int) bool {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", nw.ns(a), "timeout", "3", "bash", "-c",
		"exec 3<>/dev/tcp/"+nw.ip(b)+"/9").CombinedOutput()
	return strings.Contains(string(out), "Connection refused")
}

func TestNetworkPartitionCutsAndHeals(t *testing.T) {
	if !netnsAvailable() {
		t.Skip("needs root and ip: network namespaces")
	}
	nw, err := newNetwork(3, rand.New(rand.NewPCG(1, uint64(rand.Int64()))))
	if err != nil {
		t.Fatal(err)
	}
	defer nw.close()
	for _, p := range [][2]int{{1, 2}, {2, 3}, {3, 1}} {
		if !reachable(t, nw, p[0], p[1]) {
			t.Fatalf("before any partition, %d cannot reach %d", p[0], p[1])
		}
	}
	if err := nw.partition([]int{1}); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int{{1, 2}, {2, 1}, {1, 3}, {3, 1}} {
		if reachable(t, nw, p[0], p[1]) {
			t.Errorf("1 isolated, yet %d reaches %d", p[0], p[1])
		}
	}
	if !reachable(t, nw, 2, 3) || !reachable(t, nw, 3, 2) {
		t.Errorf("1 isolated, and 2 and 3 cannot reach each other")
	}
	if err := nw.heal(); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int{{1, 2}, {2, 1}, {1, 3}, {3, 1}} {
		if !reachable(t, nw, p[0], p[1]) {
			t.Errorf("after heal, %d cannot reach %d", p[0], p[1])
		}
	}
}
