// Package controlplane runs upstream kube-apiserver, kube-controller-manager
// and kube-scheduler inside the kedge process, each as a component built from
// the upstream options structs with kedge's defaults plus user pass-through
// arguments.
package controlplane
