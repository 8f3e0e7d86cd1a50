package netns

import (
	"os"
	"os/exec"
	"strings"
)

// With br_netfilter loaded and bridge-nf-call-iptables=1, frames crossing a
// bridge between two veths go through the iptables FORWARD chain; a DROP
// policy there (Docker sets one) silently cuts nodes off from each other.
const bridgeNFCall = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// allowBridgeForwarding inserts "-i <bridge> -o <bridge> -j ACCEPT" at the top
// of FORWARD when the chain could drop bridged traffic. The rule matches only
// this test's bridge, so it opens nothing else on the host.
func (top *Topology) allowBridgeForwarding() error {
	if b, err := os.ReadFile(bridgeNFCall); err != nil || strings.TrimSpace(string(b)) != "1" {
		return nil // bridged frames bypass iptables
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		// No iptables binary: nothing can be inspected or added this way
		// (rules written with nft directly are not handled). If such rules
		// drop bridged traffic, the nodes' ping test shows it.
		return nil
	}
	out, err := runCmd("iptables", "-w", "-S", "FORWARD")
	if err != nil {
		return err
	}
	if !forwardMayDrop(out) {
		return nil
	}
	if _, err := runCmd("iptables", top.fwRuleArgs("-I")...); err != nil {
		return err
	}
	top.fwRule = true
	return nil
}

// forwardMayDrop reports whether an `iptables -S FORWARD` listing could drop
// anything. Only an empty chain with policy ACCEPT is certainly harmless; any
// rule may jump to a chain that drops, so anything else counts.
func forwardMayDrop(listing string) bool {
	return strings.TrimSpace(listing) != "-P FORWARD ACCEPT"
}

// fwRuleArgs is the rule with op "-I" (insert first) or "-D" (delete).
func (top *Topology) fwRuleArgs(op string) []string {
	args := []string{"-w", op, "FORWARD"}
	if op == "-I" {
		args = append(args, "1")
	}
	return append(args, "-i", top.Bridge, "-o", top.Bridge, "-j", "ACCEPT")
}
