package agent

import (
	"fmt"
	"net"
	"os"
	"strings"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/nodeip"
	"github.com/kedge-io/kedge/datadir"
)

// Node is a node's completed configuration: its flags, and what they
// resolved to.
type Node struct {
	Config
	Name       string
	IPs        []net.IP
	ResolvConf string // the file pods with host DNS get
	Layout     datadir.Layout
}

// nodeIPs parses --node-ip, else finds the address of the default-route
// interface. A host without a default route (common on air-gapped sites)
// needs --node-ip, and the error says so.
func nodeIPs(flags []string) ([]net.IP, error) {
	var ips []net.IP
	for _, s := range flags {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("--node-ip %q: not an IP address", s)
		}
		ips = append(ips, ip)
	}
	if len(ips) > 0 {
		return ips, nil
	}
	ip, err := nodeip.Detect()
	if err != nil {
		return nil, fmt.Errorf("finding the node IP: %w", err)
	}
	return []net.IP{ip}, nil
}

// resolvConf picks the file pods with host DNS get. systemd-resolved's
// /etc/resolv.conf lists only its 127.0.0.53 stub, which a pod cannot
// reach; its upstream list is used instead.
func resolvConf(flag string) (string, error) {
	if flag != "" {
		if _, err := os.Stat(flag); err != nil {
			return "", fmt.Errorf("--resolv-conf: %w", err)
		}
		return flag, nil
	}
	const etc, resolved = "/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"
	data, err := os.ReadFile(etc)
	if err != nil {
		return "", fmt.Errorf("reading %s (or pass --resolv-conf): %w", etc, err)
	}
	if onlyLoopbackNameservers(string(data)) {
		if _, err := os.Stat(resolved); err == nil {
			return resolved, nil
		}
		klog.Warningf("%s lists only loopback nameservers, which pods cannot reach; pass --resolv-conf", etc)
	}
	return etc, nil
}

func onlyLoopbackNameservers(text string) bool {
	found := false
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		found = true
		if ip := net.ParseIP(fields[1]); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return found
}

func ipStrings(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ",")
}
