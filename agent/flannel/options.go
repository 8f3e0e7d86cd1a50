package flannel

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
)

// Backends kedge offers; "none" leaves pod networking to the user.
var Backends = []string{"vxlan", "host-gw", "wireguard-native", "none"}

// CheckBackend names the flag and the valid values when name is unknown.
func CheckBackend(name string) error {
	if slices.Contains(Backends, name) {
		return nil
	}
	return fmt.Errorf("--flannel-backend %q: want one of %s", name, strings.Join(Backends, ", "))
}

// Options describe this node's part of the overlay.
type Options struct {
	Backend     string // one of Backends except "none"
	Iface       string // interface for overlay traffic; empty: the one holding NodeIP
	NodeIP      net.IP
	NodeName    string
	Kubeconfig  string // may read all Nodes and patch their status
	ClusterCIDR string
	NFTables    bool   // masquerade with nft instead of iptables, like kube-proxy
	NetConf     string // where the generated net-conf.json is written
	CNIConfDir  string
	NetworksDir string // where CNI host-local keeps its address allocations
}

// netConf is flannel's network configuration document.
func netConf(o Options) ([]byte, error) {
	conf := map[string]any{
		"Network":        o.ClusterCIDR,
		"EnableIPv4":     true,
		"EnableNFTables": o.NFTables,
		"Backend":        map[string]string{"Type": o.Backend},
	}
	return json.MarshalIndent(conf, "", "  ")
}
