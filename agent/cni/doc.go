// Package cni writes the node's CNI network configuration: a bridge with
// host-local addresses from the node's pod CIDR, plus portmap (hostPort) and
// bandwidth (traffic shaping annotations), the chain flannel expects.
package cni
