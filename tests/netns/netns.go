package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"testing"
)

const (
	firstHost = 10  // node i gets host address .10+i
	maxNodes  = 245 // .10 through .254
)

// Topology is one test's private network: a bridge in the root namespace
// and one namespace per node, none of them with a route off the bridge.
type Topology struct {
	Bridge  string
	Subnet  *net.IPNet
	Gateway net.IP // bridge IP in root ns
	Nodes   []*Node

	resolver *resolver

	t             testing.TB
	closeOnce     sync.Once
	bridgeCreated bool // only what we created is deleted
	fwRule        bool // iptables ACCEPT rule for the bridge is installed
}

// New creates a bridge in the root netns with Gateway/prefix, and n
// namespaces, each with lo up and one veth (eth0 inside, IP Subnet host
// .10+i) attached to the bridge. No default route is added inside the
// namespaces. The first node also holds the topology's DNS resolver. It
// registers t.Cleanup to remove everything even on failure.
func New(t testing.TB, n int) *Topology {
	t.Helper()
	if n < 1 || n > maxNodes {
		t.Fatalf("netns.New: n=%d, want 1..%d", n, maxNodes)
	}
	id, err := randomID()
	if err != nil {
		t.Fatalf("netns.New: %v", err)
	}
	top := &Topology{Bridge: "kb" + id, t: t}
	// Registered before anything exists, so a half-built topology is
	// still torn down when create fails and t.Fatalf ends the test.
	t.Cleanup(top.Close)
	if err := top.create(id, n); err != nil {
		t.Fatalf("netns.New: %v", err)
	}
	return top
}

// randomID returns 6 hex digits: short enough that "kv"+id+index fits the
// 15-character interface name limit, random enough to be unique per run.
func randomID() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (top *Topology) create(id string, n int) error {
	if err := top.addBridge(); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		node := &Node{
			Name: fmt.Sprintf("kedge-%s-%d", id, i),
			IP:   hostIP(top.Subnet, firstHost+i),
			Veth: fmt.Sprintf("kv%s%d", id, i),
		}
		top.Nodes = append(top.Nodes, node)
		if err := top.addNode(node); err != nil {
			return err
		}
	}
	r, err := startResolver(top.Nodes[0])
	if err != nil {
		return err
	}
	top.resolver = r
	for _, n := range top.Nodes {
		n.Resolver = top.Nodes[0].IP
	}
	return top.allowBridgeForwarding()
}

// addBridge picks the subnet and gives the bridge its gateway address while
// holding the allocation lock, so no other test can pick the same /24.
func (top *Topology) addBridge() error {
	unlock, err := lockAlloc()
	if err != nil {
		return err
	}
	defer unlock()
	subnet, err := pickSubnet()
	if err != nil {
		return err
	}
	if _, err := runCmd("ip", "link", "add", top.Bridge, "type", "bridge"); err != nil {
		return err
	}
	top.bridgeCreated = true
	top.Subnet, top.Gateway = subnet, hostIP(subnet, 1)
	return runAll([][]string{
		{"ip", "addr", "add", top.prefixed(top.Gateway), "dev", top.Bridge},
		{"ip", "link", "set", top.Bridge, "up"},
	})
}

func (top *Topology) addNode(node *Node) error {
	if _, err := runCmd("ip", "netns", "add", node.Name); err != nil {
		return err
	}
	node.nsCreated = true
	// Creating the peer directly inside the namespace means no interface
	// named eth0 ever appears, even briefly, in the root namespace.
	if _, err := runCmd("ip", "link", "add", node.Veth, "type", "veth",
		"peer", "name", "eth0", "netns", node.Name); err != nil {
		return err
	}
	node.vethCreated = true
	ns := node.Name
	// IPv6 is left enabled: only IPv4 is configured, and IPv4 does not wait
	// for IPv6 duplicate address detection on link-local addresses.
	return runAll([][]string{
		{"ip", "link", "set", node.Veth, "master", top.Bridge, "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
		{"ip", "-n", ns, "addr", "add", top.prefixed(node.IP), "dev", "eth0"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		// Per-namespace sysctl: nodes route pod traffic; the host's own
		// ip_forward is left alone.
		{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
	})
}

// prefixed formats ip with the topology's prefix length, e.g. 10.200.7.1/24.
func (top *Topology) prefixed(ip net.IP) string {
	ones, _ := top.Subnet.Mask.Size()
	return fmt.Sprintf("%s/%d", ip, ones)
}

func runAll(cmds [][]string) error {
	for _, c := range cmds {
		if _, err := runCmd(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// Close kills what runs in the nodes' mount namespaces and cgroups (see
// Spawn and CgroupRoot), then removes the cgroups, the veths, the bridge,
// the namespaces and any iptables rule New added. It is idempotent and only logs failures: a cleanup error must
// not hide the test's own result.
func (top *Topology) Close() {
	top.closeOnce.Do(top.teardown)
}

func (top *Topology) teardown() {
	if top.resolver != nil {
		top.resolver.close() // its socket would keep a namespace alive
	}
	// Processes first: they hold the mount namespaces, cgroups and network
	// namespaces that the steps below remove.
	for _, n := range top.Nodes {
		n.releaseMountNS(top.t.Logf)
		if err := n.removeCgroups(); err != nil {
			top.t.Logf("netns cleanup: node %s: %v", n.Name, err)
		}
	}
	for _, n := range top.Nodes {
		if n.vethCreated {
			top.cleanup("ip", "link", "del", n.Veth)
		}
	}
	if top.bridgeCreated {
		top.cleanup("ip", "link", "del", top.Bridge)
	}
	for _, n := range top.Nodes {
		if n.nsCreated {
			top.cleanup("ip", "netns", "del", n.Name)
		}
	}
	if top.fwRule {
		top.cleanup(append([]string{"iptables"}, top.fwRuleArgs("-D")...)...)
	}
}

func (top *Topology) cleanup(argv ...string) {
	out, err := runCmd(argv[0], argv[1:]...)
	if err != nil && !alreadyGone(out) {
		top.t.Logf("netns cleanup: %v", err)
	}
}
