package servicelb

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func node(name string, ready bool, addrs ...corev1.NodeAddress) *corev1.Node {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}},
			Addresses:  addrs,
		},
	}
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func external(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: ip}
}

func lbService(name string, created int, ports ...int32) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.Unix(int64(1_700_000_000+created), 0)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Port: p, Protocol: corev1.ProtocolTCP})
	}
	return svc
}

func slice(service string, endpoints ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-abc", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   endpoints,
	}
}

func endpointOn(nodeName string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{"10.42.0.9"}, NodeName: ptr.To(nodeName),
		Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func ingressIPs(t *testing.T, ingress []corev1.LoadBalancerIngress) []string {
	t.Helper()
	for _, in := range ingress {
		if in.IPMode == nil || *in.IPMode != corev1.LoadBalancerIPModeVIP {
			t.Errorf("ingress %s has ipMode %v, want VIP", in.IP, in.IPMode)
		}
	}
	return ips(ingress)
}

func TestDesiredIngress(t *testing.T) {
	dual := func(s *corev1.Service) {
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	}
	v4 := func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol} }
	v6 := func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }
	local := func(s *corev1.Service) {
		v4(s)
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}
	excluded := node("gone", true, internal("10.0.0.50"))
	excluded.Labels = map[string]string{corev1.LabelNodeExcludeBalancers: ""}
	cordoned := node("cordoned", true, internal("10.0.0.60"))
	cordoned.Spec.Unschedulable = true
	tests := []struct {
		name      string
		svc       func(*corev1.Service)
		nodes     []*corev1.Node
		endpoints []*discoveryv1.EndpointSlice
		want      []string
	}{{
		name:  "ready nodes only, sorted numerically",
		svc:   v4,
		nodes: []*corev1.Node{node("a", true, internal("10.0.0.10")), node("b", false, internal("10.0.0.3")), node("c", true, internal("10.0.0.9"))},
		want:  []string{"10.0.0.9", "10.0.0.10"},
	}, {
		name:  "no Ready condition is not ready",
		svc:   v4,
		nodes: []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "new"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{internal("10.0.0.1")}}}},
		want:  []string{},
	}, {
		name:  "external addresses win over internal ones",
		svc:   v4,
		nodes: []*corev1.Node{node("a", true, internal("10.0.0.1"), external("203.0.113.7")), node("b", true, internal("10.0.0.2"))},
		want:  []string{"10.0.0.2", "203.0.113.7"},
	}, {
		name:  "dual-stack picks per family",
		svc:   dual,
		nodes: []*corev1.Node{node("a", true, internal("10.0.0.1"), external("203.0.113.7"), internal("fd00::1"))},
		want:  []string{"203.0.113.7", "fd00::1"},
	}, {
		name:  "single-stack IPv6 leaves out IPv4",
		svc:   v6,
		nodes: []*corev1.Node{node("a", true, internal("10.0.0.1"), internal("fd00::1"))},
		want:  []string{"fd00::1"},
	}, {
		name:  "no ipFamilies allows both",
		svc:   func(*corev1.Service) {},
		nodes: []*corev1.Node{node("a", true, internal("fd00::1"), internal("10.0.0.1"))},
		want:  []string{"10.0.0.1", "fd00::1"},
	}, {
		name:  "excluded nodes are left out, cordoned ones stay",
		svc:   v4,
		nodes: []*corev1.Node{excluded, cordoned},
		want:  []string{"10.0.0.60"},
	}, {
		name:  "shared address listed once",
		svc:   v4,
		nodes: []*corev1.Node{node("a", true, external("192.0.2.1")), node("b", true, external("192.0.2.1"))},
		want:  []string{"192.0.2.1"},
	}, {
		name:      "Local lists nodes with a ready endpoint",
		svc:       local,
		nodes:     []*corev1.Node{node("a", true, internal("10.0.0.1")), node("b", true, internal("10.0.0.2")), node("c", true, internal("10.0.0.3")), node("d", false, internal("10.0.0.4"))},
		endpoints: []*discoveryv1.EndpointSlice{slice("web", endpointOn("a", nil), endpointOn("b", ptr.To(false)), endpointOn("c", ptr.To(true)), endpointOn("d", ptr.To(true)))},
		want:      []string{"10.0.0.1", "10.0.0.3"},
	}, {
		name:  "Local without endpoints lists nothing",
		svc:   local,
		nodes: []*corev1.Node{node("a", true, internal("10.0.0.1"))},
		want:  []string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := lbService("web", 0, 80)
			tt.svc(svc)
			got := ingressIPs(t, desiredIngress(svc, tt.nodes, tt.endpoints))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ingress %v, want %v", got, tt.want)
			}
		})
	}
}
