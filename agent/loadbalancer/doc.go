// Package loadbalancer forwards an agent's local apiserver port to one of
// the known servers at the TCP level, so the kubelet, kube-proxy and flannel
// follow when a server goes away or the set of servers changes.
package loadbalancer
