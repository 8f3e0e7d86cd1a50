package servicelb

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestAssignPorts(t *testing.T) {
	udp := lbService("dns-udp", 5, 53)
	udp.Spec.Ports[0].Protocol = corev1.ProtocolUDP
	noProto := lbService("web-default-proto", 6, 80)
	noProto.Spec.Ports[0].Protocol = ""
	tests := []struct {
		name     string
		services []*corev1.Service
		reserved []Port
		want     map[string]conflict
	}{{
		name:     "older Service keeps the port",
		services: []*corev1.Service{lbService("young", 2, 80), lbService("old", 1, 80)},
		want:     map[string]conflict{"default/young": {port: Port{corev1.ProtocolTCP, 80}, holder: "default/old"}},
	}, {
		name:     "same age falls back to the name",
		services: []*corev1.Service{lbService("b", 1, 443), lbService("a", 1, 443)},
		want:     map[string]conflict{"default/b": {port: Port{corev1.ProtocolTCP, 443}, holder: "default/a"}},
	}, {
		name:     "protocols do not collide",
		services: []*corev1.Service{lbService("dns-tcp", 1, 53), udp},
		want:     map[string]conflict{},
	}, {
		name:     "empty protocol is TCP",
		services: []*corev1.Service{lbService("web", 1, 80), noProto},
		want:     map[string]conflict{"default/web-default-proto": {port: Port{corev1.ProtocolTCP, 80}, holder: "default/web"}},
	}, {
		name:     "a pending Service holds none of its ports",
		services: []*corev1.Service{lbService("a", 1, 80), lbService("b", 2, 80, 443), lbService("c", 3, 443)},
		want:     map[string]conflict{"default/b": {port: Port{corev1.ProtocolTCP, 80}, holder: "default/a"}},
	}, {
		name:     "reserved ports belong to kedge",
		services: []*corev1.Service{lbService("api", 1, 8080, 6443)},
		reserved: []Port{{corev1.ProtocolTCP, 6443}},
		want:     map[string]conflict{"default/api": {port: Port{corev1.ProtocolTCP, 6443}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assignPorts(tt.services, tt.reserved)
			if !maps.Equal(got, tt.want) {
				t.Errorf("losers %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConflictMessage(t *testing.T) {
	msg := conflict{port: Port{corev1.ProtocolTCP, 80}, holder: "default/old"}.message()
	for _, part := range []string{"80/TCP", "Service default/old"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q does not name %q", msg, part)
		}
	}
	if msg := (conflict{port: Port{corev1.ProtocolUDP, 8472}}).message(); !strings.Contains(msg, "8472/UDP is reserved for kedge") {
		t.Errorf("message %q does not name the reserved port", msg)
	}
}
