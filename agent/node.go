package agent

import (
	"fmt"
	"net"

	"github.com/kedge-io/kedge/agent/nodeip"
)

// ResolveNode finds this node's name and addresses: --node-ip, else the
// address of the default-route interface. A host without a default route
// (common on airgapped sites) needs --node-ip, and the error says so.
func (c *Config) ResolveNode() (Node, error) {
	name, err := c.Name()
	if err != nil {
		return Node{}, err
	}
	node := Node{Name: name}
	for _, s := range c.NodeIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return node, fmt.Errorf("--node-ip %q: not an IP address", s)
		}
		node.IPs = append(node.IPs, ip)
	}
	if len(node.IPs) == 0 {
		ip, err := nodeip.Detect()
		if err != nil {
			return node, fmt.Errorf("finding the node IP: %w", err)
		}
		node.IPs = []net.IP{ip}
	}
	return node, nil
}
