package agent

import (
	"os"
	"path/filepath"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/bundle"
	"github.com/kedge-io/kedge/agent/containerd"
	"github.com/kedge-io/kedge/agent/flannel"
	"github.com/kedge-io/kedge/agent/images"
	"github.com/kedge-io/kedge/agent/imageserver"
	"github.com/kedge-io/kedge/agent/kubelet"
	"github.com/kedge-io/kedge/agent/kubeproxy"
	"github.com/kedge-io/kedge/agent/netfilter"
	"github.com/kedge-io/kedge/agent/registries"
	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// PauseImage is the sandbox image, built into kedge and imported at start
// (and pinned), so a pod starts before anything else serves; the other
// kedge.local images are pulled from the node's built-in registry.
const PauseImage = "kedge.local/pause:3.10"

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

// Components returns the node's parts in start order: the runtime bundle,
// the packet-filter tools (which puts the bundle's on PATH for a host
// without its own, before anything runs them), the built-in registry, the
// registry configuration (which points kedge.local at that registry and
// hands containerd its credentials before containerd's Init writes its
// config), containerd, image import, kubelet, kube-proxy, then flannel
// (which waits for the node the kubelet registers). Building them touches
// no file: each part prepares its own in Init. The caller holds the
// data-dir lock.
func Components(node Node, cluster Cluster, creds Credentials) ([]component.Component, error) {
	runtime := bundle.NewRuntime(node.Layout.BundleRoot())
	kl, err := newKubelet(node, cluster, creds)
	if err != nil {
		return nil, err
	}
	kp, err := newKubeProxy(node, cluster, creds)
	if err != nil {
		return nil, err
	}
	importer := &images.Importer{
		Ctr:       filepath.Join(runtime.BinDir(), "ctr"),
		Socket:    node.Layout.ContainerdSocket(),
		StateFile: node.Layout.ImportedState(),
	}
	ctrd := newContainerd(node, runtime.BinDir())
	builtin := imageserver.New()
	parts := []component.Component{
		runtime,
		netfilter.New(runtime.NetfilterBinDir(), cluster.KubeProxyMode == "nftables"),
		builtin,
		registries.New(registries.Options{
			Path: node.RegistriesFile, HostsDir: node.Layout.RegistryHostsDir(),
			Builtin: builtin.Endpoint, Runtime: ctrd,
		}),
		ctrd,
		images.NewLoader(importer, node.Layout.ImagesDir()),
		kl,
		kp,
	}
	if cluster.FlannelBackend == "none" {
		klog.Infof("--flannel-backend=none: pod networking is left to the CNI configuration in %s", node.Layout.CNIConfDir())
		return parts, nil
	}
	return append(parts, newFlannel(node, cluster, creds)), nil
}

func newContainerd(node Node, binDir string) *containerd.Containerd {
	cgroups := kubelet.DetectCgroups("/")
	cfg := containerd.Config{
		Root:                node.Layout.ContainerdRoot(),
		State:               node.Layout.ContainerdState(),
		BinDir:              binDir,
		CNIConfDir:          node.Layout.CNIConfDir(),
		PauseImage:          PauseImage,
		SystemdCgroup:       cgroups.Driver == "systemd",
		RestrictOOMScoreAdj: !containerd.CanLowerOOMScore(),
	}
	// Read at each launch, after the netfilter part changed kedge's own
	// environment: the CNI plugins need the same iptables as kube-proxy.
	env := func() []string {
		return append(os.Environ(), "PATH="+bundle.Prepend(os.Getenv("PATH"), binDir))
	}
	return containerd.New(cfg, env)
}

func newKubeProxy(node Node, cluster Cluster, creds Credentials) (*kubeproxy.Proxy, error) {
	args, err := passthrough.Merge(kubeproxy.Defaults(kubeproxy.Options{
		Kubeconfig: creds.KubeProxyKubeconfig, NodeName: node.Name,
		ClusterCIDR: cluster.ClusterCIDR, Mode: cluster.KubeProxyMode,
	}), node.KubeProxyArgs, "kube-proxy-arg")
	if err != nil {
		return nil, err
	}
	return kubeproxy.New(args)
}

func newFlannel(node Node, cluster Cluster, creds Credentials) *flannel.Flannel {
	return flannel.New(flannel.Options{
		Backend:     cluster.FlannelBackend,
		Iface:       node.FlannelIface,
		NodeIP:      node.IPs[0],
		NodeName:    node.Name,
		Kubeconfig:  creds.FlannelKubeconfig,
		ClusterCIDR: cluster.ClusterCIDR,
		NFTables:    cluster.KubeProxyMode == "nftables",
		NetConf:     node.Layout.FlannelNetConf(),
		CNIConfDir:  node.Layout.CNIConfDir(),
		NetworksDir: node.Layout.CNINetworksDir(),
	})
}
