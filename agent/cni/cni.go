package cni

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/kedge-io/kedge/atomicfile"
)

// FileName sorts first in the conf dir, so the CRI plugin picks it.
const FileName = "10-kedge.conflist"

// Options describe the node's pod network.
type Options struct {
	PodCIDR     string // this node's spec.podCIDR
	ClusterCIDR string // all pods; routed via the overlay
	MTU         int    // the overlay's MTU, so pods never fragment
	NetworksDir string // where host-local keeps its IP allocations
}

type plugin map[string]any

// Render returns the conflist for o.
func Render(o Options) ([]byte, error) {
	_, pod, err := net.ParseCIDR(o.PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("node pod CIDR %q: %w", o.PodCIDR, err)
	}
	gw := make(net.IP, len(pod.IP.To4()))
	copy(gw, pod.IP.To4())
	gw[3]++
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "kedge",
		"plugins": []plugin{
			{
				"type": "bridge", "bridge": "cni0", "isDefaultGateway": true,
				"ipMasq": false, "hairpinMode": true, "mtu": o.MTU,
				"ipam": plugin{
					"type":    "host-local",
					"dataDir": o.NetworksDir,
					"ranges":  [][]plugin{{{"subnet": pod.String(), "gateway": gw.String()}}},
				},
			},
			{"type": "portmap", "capabilities": plugin{"portMappings": true}, "snat": true},
			{"type": "bandwidth", "capabilities": plugin{"bandwidth": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// Write renders o into dir/FileName.
func Write(dir string, o Options) error {
	data, err := Render(o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating CNI conf dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
