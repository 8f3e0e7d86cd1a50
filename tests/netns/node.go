package netns

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Node is one network namespace of a Topology.
type Node struct {
	Name string // netns name
	IP   net.IP
	Veth string // root-side veth
	// Resolver is the topology's site DNS server (see UpstreamName), the
	// one nameserver the node's resolv.conf should list.
	Resolver net.IP

	nsCreated   bool
	vethCreated bool

	mu         sync.Mutex
	holder     *holder  // keeps the mount namespace of Spawn alive
	cgroupRoot string   // set once CgroupRoot succeeded
	cgroups    []string // directories CgroupRoot created, for removal
}

// Command returns an *exec.Cmd that runs name/args inside the node's
// namespace (via `ip netns exec`), for short commands. Each run gets a
// fresh mount namespace with a new /sys and no cgroup mounts; kedge and
// anything else that must see the node's mounts across runs is started
// with Spawn instead.
func (n *Node) Command(name string, args ...string) *exec.Cmd {
	argv := append([]string{"netns", "exec", n.Name, name}, args...)
	return exec.Command("ip", argv...)
}

// Output runs a command in the namespace and returns its combined output.
// A failure's error names the full command line and includes the output.
func (n *Node) Output(name string, args ...string) (string, error) {
	return combined(n.Command(name, args...))
}

// Run is Output that fails the test on error.
func (n *Node) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := n.Output(name, args...)
	if err != nil {
		t.Fatalf("node %s: %v", n.Name, err)
	}
	return out
}

// HasNoRouteOut asserts that the namespace has no route off its test
// subnet, for IPv4 and IPv6. `ip route get` only consults the routing table
// and sends nothing; the destinations are documentation addresses
// (RFC 5737, RFC 3849) that only a default route would cover, so the check
// never names a real host.
func (n *Node) HasNoRouteOut(t testing.TB) {
	t.Helper()
	for _, dst := range []string{"198.51.100.7", "2001:db8::7"} {
		if err := n.noRouteTo(dst); err != nil {
			t.Fatalf("node %s: %v", n.Name, err)
		}
	}
}

func (n *Node) noRouteTo(dst string) error {
	out, err := n.Output("ip", "route", "get", dst)
	if err == nil {
		return fmt.Errorf("has a route out to %s: %s", dst, strings.TrimSpace(out))
	}
	if !strings.Contains(out, "unreachable") {
		return fmt.Errorf("want \"unreachable\" for %s, got: %v", dst, err)
	}
	return nil
}
