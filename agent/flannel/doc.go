// Package flannel runs flannel's node agent inside kedge: it takes the
// node's pod subnet from spec.podCIDR, builds the overlay (vxlan by default)
// and writes the CNI configuration pods are attached with.
package flannel
