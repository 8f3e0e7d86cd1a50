package servicelb

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Port is one port and protocol a LoadBalancer Service takes on every node.
type Port struct {
	Protocol corev1.Protocol
	Number   int32
}

func (p Port) String() string { return fmt.Sprintf("%d/%s", p.Number, p.Protocol) }

// portsOf lists the ports a Service takes on the nodes. An empty protocol
// is TCP, the API's default.
func portsOf(svc *corev1.Service) []Port {
	ports := make([]Port, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, Port{Protocol: proto, Number: p.Port})
	}
	return ports
}

// conflict is why a Service stays pending: the first of its ports that
// another Service, or kedge itself, already holds.
type conflict struct {
	port   Port
	holder string // namespace/name of the Service holding port; empty when kedge reserves it
}

func (c conflict) message() string {
	if c.holder == "" {
		return fmt.Sprintf("port %s is reserved for kedge on the nodes; the Service gets no load balancer addresses while it asks for it", c.port)
	}
	return fmt.Sprintf("port %s is already used by Service %s; the Service gets no load balancer addresses until the port is free", c.port, c.holder)
}

// assignPorts decides which Services own their ports and returns the losers
// by key. Services are taken oldest first; one gets its ports only when all
// of them are free, because kube-proxy serves a Service's ports together. A
// pending Service so holds no port, and a younger one may use what it left.
func assignPorts(services []*corev1.Service, reserved []Port) map[string]conflict {
	holders := make(map[Port]string, len(reserved))
	for _, p := range reserved {
		holders[p] = ""
	}
	losers := make(map[string]conflict)
	for _, svc := range oldestFirst(services) {
		ports := portsOf(svc)
		if c, taken := firstTaken(ports, holders); taken {
			losers[keyOf(svc)] = c
			continue
		}
		for _, p := range ports {
			holders[p] = keyOf(svc)
		}
	}
	return losers
}

func firstTaken(ports []Port, holders map[Port]string) (conflict, bool) {
	for _, p := range ports {
		if holder, taken := holders[p]; taken {
			return conflict{port: p, holder: holder}, true
		}
	}
	return conflict{}, false
}

// oldestFirst orders by creationTimestamp and then namespace/name, so the
// winner does not depend on the order events arrive in.
func oldestFirst(services []*corev1.Service) []*corev1.Service {
	sorted := slices.Clone(services)
	slices.SortFunc(sorted, func(a, b *corev1.Service) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(keyOf(a), keyOf(b))
	})
	return sorted
}

func keyOf(svc *corev1.Service) string { return svc.Namespace + "/" + svc.Name }
