package flannel

import (
	"fmt"
	"net"

	"github.com/flannel-io/flannel/pkg/backend"
)

// externalInterface picks the interface overlay traffic leaves by: the
// --flannel-iface one, or the one carrying the node IP, so vxlan peers talk
// over the address the node registered with.
func externalInterface(name string, nodeIP net.IP) (*backend.ExternalInterface, error) {
	if name != "" {
		return namedInterface(name, nodeIP)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	for i := range ifaces {
		ips, err := ipv4Addrs(&ifaces[i])
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			if ip.Equal(nodeIP) {
				return external(&ifaces[i], ip), nil
			}
		}
	}
	return nil, fmt.Errorf("no interface has the node IP %s; pass --flannel-iface", nodeIP)
}

func namedInterface(name string, nodeIP net.IP) (*backend.ExternalInterface, error) {
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("--flannel-iface %s: %w", name, err)
	}
	ips, err := ipv4Addrs(iface)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("--flannel-iface %s has no IPv4 address", name)
	}
	for _, ip := range ips {
		if ip.Equal(nodeIP) {
			return external(iface, ip), nil
		}
	}
	return external(iface, ips[0]), nil
}

func ipv4Addrs(iface *net.Interface) ([]net.IP, error) {
	addrs, err := iface.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", iface.Name, err)
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			ips = append(ips, n.IP.To4())
		}
	}
	return ips, nil
}

func external(iface *net.Interface, ip net.IP) *backend.ExternalInterface {
	return &backend.ExternalInterface{Iface: iface, IfaceName: iface.Name, IfaceAddr: ip, ExtAddr: ip}
}
