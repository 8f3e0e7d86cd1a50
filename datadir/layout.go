package datadir

import "path/filepath"

// Defaults of --data-dir, --run-dir, --config and --write-kubeconfig.
const (
	DefaultDataDir    = "/var/lib/kedge"
	DefaultRunDir     = "/run/kedge"
	DefaultConfigFile = "/etc/kedge/config.yaml"
	DefaultKubeconfig = "/etc/kedge/kedge.yaml"
)

// Layout is every path kedge keeps below --data-dir and --run-dir. Code asks
// it rather than joining paths itself, so a new directory has one place to
// go and docs/architecture.md describes one tree. Two nodes on one host
// (as in the tests) differ only in these two roots.
type Layout struct {
	DataDir string // persistent state: certificates, database, images
	RunDir  string // state that a reboot clears: sockets, pod netns
}

// FromEnv is the layout a helper command (kubectl, ctr, crictl, status)
// uses: KEDGE_DATA_DIR and KEDGE_RUN_DIR, like the server's own flags, else
// the defaults.
func FromEnv(getenv func(string) string) Layout {
	l := Layout{DataDir: getenv("KEDGE_DATA_DIR"), RunDir: getenv("KEDGE_RUN_DIR")}
	if l.DataDir == "" {
		l.DataDir = DefaultDataDir
	}
	if l.RunDir == "" {
		l.RunDir = DefaultRunDir
	}
	return l
}

func (l Layout) data(elem ...string) string {
	return filepath.Join(append([]string{l.DataDir}, elem...)...)
}

// ServerDir holds the control plane's state; a server locks it.
func (l Layout) ServerDir() string { return l.data("server") }

// ServerTLSDir holds the cluster CAs and the control plane's certificates.
func (l Layout) ServerTLSDir() string { return l.data("server", "tls") }

// CredDir holds a kubeconfig per control-plane identity.
func (l Layout) CredDir() string { return l.data("server", "cred") }

// Kubeconfig is the server's kubeconfig for one identity, e.g. "admin".
func (l Layout) Kubeconfig(identity string) string {
	return filepath.Join(l.CredDir(), identity+".kubeconfig")
}

// AdminKubeconfig is the data dir's copy of the admin kubeconfig.
func (l Layout) AdminKubeconfig() string { return l.Kubeconfig("admin") }

// DBDir holds the SQLite database.
func (l Layout) DBDir() string { return l.data("server", "db") }

// ManifestsDir is what the deploy controller applies.
func (l Layout) ManifestsDir() string { return l.data("server", "manifests") }

// TokenFile holds the server's join token in its full form.
func (l Layout) TokenFile() string { return l.data("server", "token") }

// AgentTokenFile holds the agent-only join token when --agent-token is set.
func (l Layout) AgentTokenFile() string { return l.data("server", "agent-token") }

// StorageDir is local-path's default volume directory on every node.
func (l Layout) StorageDir() string { return l.data("storage") }

// BundleRoot holds the unpacked runtime bundles, one dir per content hash.
func (l Layout) BundleRoot() string { return l.data("data") }

// AgentDir holds the node's state; an agent locks it.
func (l Layout) AgentDir() string { return l.data("agent") }

// AgentTLSDir holds what joining gave the node: CA, certificates, keys,
// kubeconfigs and the cluster settings.
func (l Layout) AgentTLSDir() string { return l.data("agent", "tls") }

// ContainerdRoot holds images, snapshots and containerd's config and log.
func (l Layout) ContainerdRoot() string { return l.data("agent", "containerd") }

// ImagesDir holds archives imported at every start.
func (l Layout) ImagesDir() string { return l.data("agent", "images") }

// ImportedState records the digests of archives already imported.
func (l Layout) ImportedState() string { return l.data("agent", "images-imported.json") }

// KubeletDir is the kubelet's root dir: pod volumes, plugins, checkpoints.
func (l Layout) KubeletDir() string { return l.data("agent", "kubelet") }

// PodLogsDir holds container logs, read by `kubectl logs`.
func (l Layout) PodLogsDir() string { return l.data("agent", "pod-logs") }

// StaticPodsDir holds pod manifests the kubelet runs without the apiserver.
func (l Layout) StaticPodsDir() string { return l.data("agent", "pod-manifests") }

// EtcDir holds the generated configuration of the node's components.
func (l Layout) EtcDir() string { return l.data("agent", "etc") }

// KubeletConfig is the kubelet's generated configuration file.
func (l Layout) KubeletConfig() string { return filepath.Join(l.EtcDir(), "kubelet.yaml") }

// FlannelNetConf is flannel's generated network configuration.
func (l Layout) FlannelNetConf() string { return filepath.Join(l.EtcDir(), "flannel", "net-conf.json") }

// CNIConfDir is where the pod network's CNI configuration is written.
func (l Layout) CNIConfDir() string { return filepath.Join(l.EtcDir(), "cni", "net.d") }

// RegistryHostsDir is containerd's config_path: one hosts.toml per
// registry, rendered from registries.yaml or written by hand.
func (l Layout) RegistryHostsDir() string {
	return filepath.Join(l.EtcDir(), "containerd", "certs.d")
}

// CNINetworksDir is where host-local IPAM keeps its address allocations.
func (l Layout) CNINetworksDir() string { return l.data("agent", "cni", "networks") }

// ContainerdState is containerd's runtime state dir, holding its socket.
func (l Layout) ContainerdState() string { return filepath.Join(l.RunDir, "containerd") }

// ContainerdSocket is where containerd serves gRPC (and CRI).
func (l Layout) ContainerdSocket() string {
	return filepath.Join(l.ContainerdState(), "containerd.sock")
}

// StatusSocket is where a running kedge reports its components' health
// to `kedge status` and service managers.
func (l Layout) StatusSocket() string { return filepath.Join(l.RunDir, "status.sock") }
