package netns

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireRoot skips only for lack of root; a missing tool is a failure, so
// a broken test machine is never mistaken for a passing run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, a bridge and veths")
	}
	for _, tool := range []string{"ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian packages iproute2, procps)", tool)
		}
	}
}

func requirePing(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		t.Fatal("ping not found: install Debian package iputils-ping")
	}
}

func ping(t *testing.T, from *Node, to net.IP) {
	t.Helper()
	from.Run(t, "ping", "-c1", "-W1", to.String())
}

func TestTwoNodesReachEachOtherButNotOutside(t *testing.T) {
	requireRoot(t)
	requirePing(t)
	top := New(t, 2)
	a, b := top.Nodes[0], top.Nodes[1]
	ping(t, a, b.IP)
	ping(t, b, a.IP)
	for _, n := range top.Nodes {
		ping(t, n, top.Gateway)
		n.HasNoRouteOut(t)
		if got := strings.TrimSpace(n.Run(t, "cat", "/proc/sys/net/ipv4/ip_forward")); got != "1" {
			t.Errorf("%s: ip_forward = %q, want 1", n.Name, got)
		}
	}
}

func TestCloseRemovesEverythingAndIsIdempotent(t *testing.T) {
	requireRoot(t)
	top := New(t, 2)
	top.Close()
	top.Close()
	nsList := mustRun(t, "ip", "netns", "list")
	links := mustRun(t, "ip", "-o", "link")
	for _, n := range top.Nodes {
		if strings.Contains(nsList, n.Name) {
			t.Errorf("netns %s still listed:\n%s", n.Name, nsList)
		}
		if strings.Contains(links, n.Veth) {
			t.Errorf("veth %s still present", n.Veth)
		}
	}
	if strings.Contains(links, top.Bridge) {
		t.Errorf("bridge %s still present", top.Bridge)
	}
	if rules, err := runCmd("iptables", "-w", "-S", "FORWARD"); err == nil && strings.Contains(rules, top.Bridge) {
		t.Errorf("iptables rule for %s left behind:\n%s", top.Bridge, rules)
	}
}

func TestOutputErrorNamesCommandAndOutput(t *testing.T) {
	requireRoot(t)
	n := New(t, 1).Nodes[0]
	_, err := n.Output("sh", "-c", "echo boom-marker; exit 3")
	if err == nil {
		t.Fatal("want error from exit 3")
	}
	for _, want := range []string{
		"ip netns exec " + n.Name + ` sh -c "echo boom-marker; exit 3"`,
		"exit status 3",
		"boom-marker",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestTopologiesAreSeparate(t *testing.T) {
	requireRoot(t)
	x, y := New(t, 1), New(t, 1)
	if x.Subnet.String() == y.Subnet.String() || x.Bridge == y.Bridge {
		t.Fatalf("topologies share %s/%s", x.Subnet, x.Bridge)
	}
	// No route between test networks either: only the own /24 is connected.
	out, err := x.Nodes[0].Output("ip", "route", "get", y.Nodes[0].IP.String())
	if err == nil || !strings.Contains(out, "unreachable") {
		t.Fatalf("node of %s routes to %s: %v %s", x.Subnet, y.Subnet, err, out)
	}
}

// A create that fails half way is torn down, and what the package did not
// create (here a link squatting on the second veth's name) is left alone.
func TestFailedCreateCleansUpOnlyItsOwn(t *testing.T) {
	requireRoot(t)
	id, err := randomID()
	if err != nil {
		t.Fatal(err)
	}
	squatter := "kv" + id + "1"
	mustRun(t, "ip", "link", "add", squatter, "type", "bridge") // no dummy module on every kernel
	t.Cleanup(func() { runCmd("ip", "link", "del", squatter) })

	top := &Topology{Bridge: "kb" + id, t: t}
	err = top.create(id, 2)
	top.Close()
	if err == nil || !strings.Contains(err.Error(), "ip link add "+squatter) {
		t.Fatalf("want error naming the failed command, got %v", err)
	}
	links := mustRun(t, "ip", "-o", "link")
	nsList := mustRun(t, "ip", "netns", "list")
	for _, gone := range []string{top.Bridge, "kv" + id + "0"} {
		if strings.Contains(links, gone+":") || strings.Contains(links, gone+"@") {
			t.Errorf("%s left behind", gone)
		}
	}
	if strings.Contains(nsList, "kedge-"+id) {
		t.Errorf("namespaces left behind:\n%s", nsList)
	}
	if !strings.Contains(links, squatter) {
		t.Errorf("deleted %s, which it did not create", squatter)
	}
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := runCmd(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParsePrefixes(t *testing.T) {
	text := `4: eth0    inet 10.200.7.5/24 brd 10.200.7.255 scope global eth0
10.0.0.0/8 via 192.0.2.1 dev tun0
10.200.9.0/24 dev kbabc proto kernel scope link src 10.200.9.1
default via 192.0.2.1 dev eth0 metric 100`
	used := parsePrefixes(text)
	for third, want := range map[int]bool{7: true, 9: true, 8: false} {
		cand := &net.IPNet{IP: net.IPv4(10, 200, byte(third), 0).To4(), Mask: net.CIDRMask(24, 32)}
		if got := overlapsAny(cand, used); got != want {
			t.Errorf("10.200.%d.0/24 in use = %v, want %v (10/8 must not count)", third, got, want)
		}
	}
}

func TestForwardMayDrop(t *testing.T) {
	for listing, want := range map[string]bool{
		"-P FORWARD ACCEPT\n":                         false,
		"-P FORWARD DROP\n":                           true,
		"-P FORWARD ACCEPT\n-A FORWARD -j DOCKER-X\n": true,
	} {
		if got := forwardMayDrop(listing); got != want {
			t.Errorf("forwardMayDrop(%q) = %v, want %v", listing, got, want)
		}
	}
}
