// Package kubeproxy holds what kedge needs to run the embedded kube-proxy:
// the choice of backend and the host tools that backend depends on.
package kubeproxy
