package pki

import (
	"crypto/x509"
	"net"
	"slices"
	"strings"
)

// servingSANs lists every name clients use to reach the API server: the node
// itself, loopback, the in-cluster service, and whatever --tls-san adds.
func servingSANs(o Options) (dnsNames []string, ips []net.IP) {
	names := []string{
		o.Hostname, "localhost",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc." + o.ClusterDomain,
	}
	ips = append(ips, o.NodeIPs...)
	ips = append(ips, net.IPv4(127, 0, 0, 1), net.IPv6loopback, o.ServiceIP)
	for _, san := range o.ExtraSANs {
		if ip := net.ParseIP(san); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, san)
		}
	}
	return uniqueNames(names), uniqueIPs(ips)
}

// kubeletSANs are the names the apiserver (logs, exec, metrics) and local
// tools use to reach the node's kubelet.
func kubeletSANs(o Options) (dnsNames []string, ips []net.IP) {
	ips = append(ips, o.NodeIPs...)
	ips = append(ips, net.IPv4(127, 0, 0, 1), net.IPv6loopback)
	return uniqueNames([]string{o.nodeName(), "localhost"}), uniqueIPs(ips)
}

// uniqueNames lowercases because DNS names match case-insensitively, so
// "Node1" and "node1" must not count as two SANs.
func uniqueNames(names []string) []string {
	var out []string
	for _, n := range names {
		n = strings.ToLower(n)
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func uniqueIPs(ips []net.IP) []net.IP {
	var out []net.IP
	for _, ip := range ips {
		if !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}

// missingSANs reports required names the certificate lacks; extra names on
// the certificate are tolerated so that removing a --tls-san alone does not
// force a reissue.
func missingSANs(cert *x509.Certificate, dnsNames []string, ips []net.IP) []string {
	var missing []string
	for _, n := range dnsNames {
		if !slices.ContainsFunc(cert.DNSNames, func(have string) bool { return strings.EqualFold(have, n) }) {
			missing = append(missing, n)
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			missing = append(missing, ip.String())
		}
	}
	return missing
}
