// Package server assembles a kedge control-plane node: it prepares the data
// dir and PKI, then runs the datastore, kube-apiserver, kube-controller-manager
// and kube-scheduler as an ordered list of components.
package server
