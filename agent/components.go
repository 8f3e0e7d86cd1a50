package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/bundle"
	"github.com/kedge-io/kedge/agent/containerd"
	"github.com/kedge-io/kedge/agent/flannel"
	"github.com/kedge-io/kedge/agent/images"
	"github.com/kedge-io/kedge/agent/kubelet"
	"github.com/kedge-io/kedge/agent/kubeproxy"
	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// PauseImage is the sandbox image, built into kedge and imported at start.
const PauseImage = "kedge.local/pause:3.10"

// Cluster is what the control plane tells a node about the cluster.
type Cluster struct {
	ClusterCIDR   string
	ClusterDNS    string
	ClusterDomain string
}

// Credentials let the node's components reach the apiserver and let the
// apiserver reach the kubelet.
type Credentials struct {
	// Kubeconfig carries the node's identity, system:node:<name>, which
	// the Node authorizer scopes to this node; the kubelet uses it.
	Kubeconfig          string
	KubeProxyKubeconfig string
	// FlannelKubeconfig may read every Node, which flannel needs to learn
	// the other nodes' subnets.
	FlannelKubeconfig string
	ClientCA          string // signs the clients the kubelet accepts
	ServingCert       string // the kubelet's, signed by the cluster CA
	ServingKey        string
}

// Node is one node's resolved identity.
type Node struct {
	Name string
	IPs  []net.IP
}

// Components returns the node's parts in start order: containerd, image
// import, kubelet, kube-proxy, then flannel (which waits for the node the
// kubelet registers). The caller holds the data-dir lock.
func Components(ctx context.Context, cfg Config, node Node, cluster Cluster, creds Credentials) ([]component.Component, error) {
	paths := cfg.Paths()
	binDir, err := bundle.Unpack(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("unpacking the runtime bundle: %w", err)
	}
	if err := os.MkdirAll(paths.ImagesDir(), 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", paths.ImagesDir(), err)
	}
	cd := newContainerd(paths, binDir)
	kl, err := newKubelet(ctx, cfg, paths, node, cluster, creds)
	if err != nil {
		return nil, err
	}
	kp, err := newKubeProxy(cfg, node, cluster, creds)
	if err != nil {
		return nil, err
	}
	importer := &images.Importer{Ctr: filepath.Join(binDir, "ctr"), Socket: paths.ContainerdSocket(), StateFile: paths.ImportedState()}
	parts := []component.Component{cd, images.NewLoader(importer, paths.ImagesDir()), kl, kp}
	if cfg.FlannelBackend == "none" {
		klog.Infof("--flannel-backend=none: pod networking is left to the CNI configuration in %s", paths.CNIConfDir())
		return parts, nil
	}
	return append(parts, newFlannel(cfg, paths, node, cluster, creds)), nil
}

func newContainerd(paths Paths, binDir string) *containerd.Containerd {
	cgroups := kubelet.DetectCgroups("/")
	cfg := containerd.Config{
		Root:                paths.ContainerdRoot(),
		State:               paths.ContainerdState(),
		BinDir:              binDir,
		CNIConfDir:          paths.CNIConfDir(),
		PauseImage:          PauseImage,
		Snapshotter:         containerd.ChooseSnapshotter(paths.ContainerdRoot()),
		SystemdCgroup:       cgroups.Driver == "systemd",
		RestrictOOMScoreAdj: !containerd.CanLowerOOMScore(),
	}
	env := append(os.Environ(), "PATH="+bundle.Prepend(os.Getenv("PATH"), binDir))
	return containerd.New(cfg, env)
}

func newKubeProxy(cfg Config, node Node, cluster Cluster, creds Credentials) (*kubeproxy.Proxy, error) {
	args, err := passthrough.Merge(kubeproxy.Defaults(kubeproxy.Options{
		Kubeconfig: creds.KubeProxyKubeconfig, NodeName: node.Name,
		ClusterCIDR: cluster.ClusterCIDR, Mode: cfg.KubeProxyMode,
	}), cfg.KubeProxyArgs, "kube-proxy-arg")
	if err != nil {
		return nil, err
	}
	return kubeproxy.New(args)
}

func newFlannel(cfg Config, paths Paths, node Node, cluster Cluster, creds Credentials) *flannel.Flannel {
	return flannel.New(flannel.Options{
		Backend:     cfg.FlannelBackend,
		Iface:       cfg.FlannelIface,
		NodeIP:      node.IPs[0],
		NodeName:    node.Name,
		Kubeconfig:  creds.FlannelKubeconfig,
		ClusterCIDR: cluster.ClusterCIDR,
		NFTables:    cfg.KubeProxyMode == "nftables",
		NetConf:     filepath.Join(paths.EtcDir(), "flannel", "net-conf.json"),
		CNIConfDir:  paths.CNIConfDir(),
		DataDir:     cfg.DataDir,
	})
}

func ipStrings(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ",")
}
