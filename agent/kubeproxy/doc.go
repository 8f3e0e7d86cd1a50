// Package kubeproxy holds what kedge needs to run the embedded kube-proxy:
// its flags and the choice of mode. Which iptables or nft it drives is
// agent/netfilter's decision.
package kubeproxy
