package nemesis

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
)

// netnsSubnetPrefix is the /16 the harness draws a /24 from for each
// cluster's bridge: 10.219.X.0/24, X random and not yet routed, so that
// concurrent runs (a test and a campaign) do not collide.
const netnsSubnetPrefix = "10.219."

// netnsBridgeHost is the bridge's own host number in the /24: the harness
// (the clients) reach the brokers through it.
const netnsBridgeHost = 254

// network places each broker in its own network namespace, connected to a
// bridge in the harness's namespace by a veth pair. Raft and Kafka traffic
// between brokers crosses the bridge, so a blackhole route in one
// namespace cuts a broker off from another: that is a partition. The
// harness itself stays connected to every broker, as a Kafka client
// outside the failing network would be.
//
// Why namespaces and not a TCP proxy: bin/broker listens on its --raft-addr
// and is dialled at the same address (it has no separate listen address),
// so a proxy cannot sit between two brokers, and a proxy on the listening
// side could not tell which peer dials. Why blackhole routes and not
// iptables: ip is installed, iptables is not.
type network struct {
	tag    string // unique per cluster: names the bridge, veths and namespaces
	subnet string // "10.219.X."
	bridge string
	nodes  int
	// cut holds the blackhole routes in place: cut[[2]int{a, b}] means
	// namespace a drops packets to b.
	cut map[[2]int]bool
}

// netnsAvailable reports whether this process can create network
// namespaces (root and the ip tool).
func netnsAvailable() bool {
	if os.Geteuid() != 0 {
		return false
	}
	_, err := exec.LookPath("ip")
	return err == nil
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNetwork creates the bridge and one namespace per node (1..n).
func newNetwork(n int, rng *rand.Rand) (*network, error) {
	routes, _ := exec.Command("ip", "-4", "route", "show").Output()
	var x int
	for range 256 {
		x = rng.IntN(250)
		if !strings.Contains(string(routes), fmt.Sprintf("%s%d.0/24", netnsSubnetPrefix, x)) {
			break
		}
	}
	tag := fmt.Sprintf("%05x", rng.IntN(1<<20))
	nw := &network{tag: tag, subnet: fmt.Sprintf("%s%d.", netnsSubnetPrefix, x), bridge: "nmb" + tag, nodes: n, cut: map[[2]int]bool{}}
	steps := [][]string{
		{"link", "add", nw.bridge, "type", "bridge"},
		{"addr", "add", fmt.Sprintf("%s%d/24", nw.subnet, netnsBridgeHost), "dev", nw.bridge},
		{"link", "set", nw.bridge, "up"},
	}
	for i := 1; i <= n; i++ {
		ns, host := nw.ns(i), fmt.Sprintf("nmv%s%d", tag, i)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"link", "set", host, "master", nw.bridge},
			[]string{"link", "set", host, "up"},
			[]string{"-n", ns, "addr", "add", fmt.Sprintf("%s/24", nw.ip(i)), "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			nw.close()
			return nil, err
		}
	}
	return nw, nil
}

func (nw *network) ns(i int) string { return fmt.Sprintf("nm%s-%d", nw.tag, i) }
func (nw *network) ip(i int) string { return fmt.Sprintf("%s%d", nw.subnet, i) }

// block makes namespace a drop every packet to b (one direction).
func (nw *network) block(a, b int) error {
	if nw.cut[[2]int{a, b}] {
		return nil
	}
	if err := ipCmd("-n", nw.ns(a), "route", "add", "blackhole", nw.ip(b)+"/32"); err != nil {
		return err
	}
	nw.cut[[2]int{a, b}] = true
	return nil
}

// partition cuts every link between a node of side and a node not in it,
// both ways.
func (nw *network) partition(side []int) error {
	in := map[int]bool{}
	for _, s := range side {
		in[s] = true
	}
	for a := 1; a <= nw.nodes; a++ {
		for b := 1; b <= nw.nodes; b++ {
			if a != b && in[a] != in[b] {
				if err := nw.block(a, b); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// heal removes every blackhole route.
func (nw *network) heal() error {
	var first error
	for a := 1; a <= nw.nodes; a++ {
		for b := 1; b <= nw.nodes; b++ {
			if !nw.cut[[2]int{a, b}] {
				continue
			}
			if err := ipCmd("-n", nw.ns(a), "route", "del", "blackhole", nw.ip(b)+"/32"); err != nil && first == nil {
				first = err
			}
			delete(nw.cut, [2]int{a, b})
		}
	}
	return first
}

// close deletes the namespaces (their veth ends go with them) and the
// bridge. Errors are ignored: it also cleans up after a partial setup.
func (nw *network) close() {
	for i := 1; i <= nw.nodes; i++ {
		exec.Command("ip", "netns", "del", nw.ns(i)).Run()
	}
	exec.Command("ip", "link", "del", nw.bridge).Run()
}
