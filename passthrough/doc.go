// Package passthrough turns kedge's --<component>-arg values into the flags
// of an embedded upstream component (apiserver, kubelet, kube-proxy, ...),
// so a bad key is reported with the kedge flag that carried it.
package passthrough
