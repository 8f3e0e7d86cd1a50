package kubeproxy

import (
	"fmt"
	"slices"
	"strings"
)

// modes kedge runs kube-proxy in. Both work on any host: the runtime bundle
// carries iptables and nft for hosts without their own (agent/netfilter).
var modes = []string{"iptables", "nftables"}

// CheckBackend names the flag and the valid values when mode is unknown.
func CheckBackend(mode string) error {
	if slices.Contains(modes, mode) {
		return nil
	}
	return fmt.Errorf("--kube-proxy-mode %q: want %s", mode, strings.Join(modes, " or "))
}
