package bundle

import (
	"context"
	"fmt"
	"path/filepath"
)

// Runtime is the unpacked bundle as the first part of a node: containerd,
// the image import and, on hosts without their own, the packet-filter
// tools of kube-proxy, flannel and the CNI plugins run from it.
type Runtime struct {
	root string
}

// NewRuntime returns the part that unpacks the bundle under root (the
// layout's BundleRoot).
func NewRuntime(root string) *Runtime { return &Runtime{root: root} }

// BinDir is where the bundle's binaries are once Init ran.
func (r *Runtime) BinDir() string { return BinDir(r.root) }

// NetfilterBinDir is where the bundle's iptables, ip6tables and nft are
// once Init ran.
func (r *Runtime) NetfilterBinDir() string { return NetfilterBinDir(r.root) }

// Name implements component.Component.
func (r *Runtime) Name() string { return "runtime-bundle" }

// Init unpacks the bundle unless an intact copy is there already.
func (r *Runtime) Init(context.Context) error {
	if _, err := Unpack(r.root); err != nil {
		return fmt.Errorf("unpacking the runtime bundle: %w", err)
	}
	return nil
}

// Start has nothing to run: the binaries are started by their users.
func (r *Runtime) Start(context.Context) error { return nil }

// Ready checks that the binaries are still in place and whole: a node
// whose bundle was deleted or damaged cannot start containers.
func (r *Runtime) Ready(context.Context) error {
	return verify(filepath.Dir(r.BinDir()))
}

// Stop has nothing to release.
func (r *Runtime) Stop(context.Context) error { return nil }
