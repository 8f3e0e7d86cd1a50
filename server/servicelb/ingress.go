package servicelb

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// ours tells whether kedge balances the Service: another implementation
// owns the ones that name a loadBalancerClass.
func ours(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
}

// desiredIngress is the status a Service of ours should show: the addresses
// of the nodes that take its traffic, sorted, in VIP mode so kube-proxy
// serves node-IP:port. endpoints are the Service's EndpointSlices; only the
// Local traffic policy reads them.
func desiredIngress(svc *corev1.Service, nodes []*corev1.Node, endpoints []*discoveryv1.EndpointSlice) []corev1.LoadBalancerIngress {
	local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	hosts := endpointNodes(endpoints)
	families := allowedFamilies(svc)
	var addrs []netip.Addr
	for _, n := range nodes {
		if !eligible(n) || (local && !hosts[n.Name]) {
			continue
		}
		addrs = append(addrs, nodeAddresses(n, families)...)
	}
	return toIngress(addrs)
}

// eligible nodes are Ready and not labelled out of load balancing. Cordoned
// nodes stay: cordoning stops new pods, not kube-proxy, and dropping their
// addresses during a drain would only move clients around.
func eligible(n *corev1.Node) bool {
	if _, excluded := n.Labels[corev1.LabelNodeExcludeBalancers]; excluded {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// endpointNodes are the nodes hosting a ready endpoint. A missing Ready
// condition means ready, as the EndpointSlice API documents.
func endpointNodes(endpoints []*discoveryv1.EndpointSlice) map[string]bool {
	hosts := make(map[string]bool)
	for _, s := range endpoints {
		for _, ep := range s.Endpoints {
			if ep.NodeName != nil && ptr.Deref(ep.Conditions.Ready, true) {
				hosts[*ep.NodeName] = true
			}
		}
	}
	return hosts
}

// allowedFamilies reads spec.ipFamilies; the apiserver always fills it for
// a LoadBalancer Service, so an empty list only allows both.
func allowedFamilies(svc *corev1.Service) map[corev1.IPFamily]bool {
	if len(svc.Spec.IPFamilies) == 0 {
		return map[corev1.IPFamily]bool{corev1.IPv4Protocol: true, corev1.IPv6Protocol: true}
	}
	allowed := make(map[corev1.IPFamily]bool, len(svc.Spec.IPFamilies))
	for _, f := range svc.Spec.IPFamilies {
		allowed[f] = true
	}
	return allowed
}

// nodeAddresses picks, per allowed family, the node's ExternalIP addresses
// or, when it has none of that family, its InternalIP addresses. Choosing
// per family keeps a dual-stack Service on both families when a node has
// an external address in only one.
func nodeAddresses(n *corev1.Node, families map[corev1.IPFamily]bool) []netip.Addr {
	var out []netip.Addr
	for _, family := range []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol} {
		if !families[family] {
			continue
		}
		picked := addressesOf(n, corev1.NodeExternalIP, family)
		if len(picked) == 0 {
			picked = addressesOf(n, corev1.NodeInternalIP, family)
		}
		out = append(out, picked...)
	}
	return out
}

func addressesOf(n *corev1.Node, kind corev1.NodeAddressType, family corev1.IPFamily) []netip.Addr {
	var out []netip.Addr
	for _, a := range n.Status.Addresses {
		ip, err := netip.ParseAddr(a.Address)
		if a.Type != kind || err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() == (family == corev1.IPv4Protocol) {
			out = append(out, ip)
		}
	}
	return out
}

// toIngress sorts numerically, IPv4 first, and drops duplicates so the
// status only changes when the set of addresses does.
func toIngress(addrs []netip.Addr) []corev1.LoadBalancerIngress {
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	out := make([]corev1.LoadBalancerIngress, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, corev1.LoadBalancerIngress{IP: a.String(), IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)})
	}
	return out
}
