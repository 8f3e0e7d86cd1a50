package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kedge-io/kedge/agent/flannel"
	"github.com/kedge-io/kedge/agent/kubeproxy"
	"github.com/kedge-io/kedge/agent/registries"
	"github.com/kedge-io/kedge/datadir"
)

// Config is what a node is told by its flags. DataDir and NodeIPs are
// registered by the command (the server shares them with the control
// plane); AddFlags registers the rest.
type Config struct {
	DataDir       string
	RunDir        string
	NodeName      string
	NodeIPs       []string
	NodeLabels    []string
	NodeTaints    []string
	KubeletArgs   []string
	KubeProxyArgs []string
	FlannelIface  string
	ResolvConf    string
	// RegistriesFile is registries.yaml: mirrors, credentials and TLS
	// for pulls (agent/registries).
	RegistriesFile string
}

// AddFlags registers the node flags shared by `kedge server` and
// `kedge agent`.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.RunDir, "run-dir", datadir.DefaultRunDir, "Directory for runtime state (containerd socket, status socket, pod network namespaces)")
	fs.StringVar(&c.NodeName, "node-name", "", "Node name (default: the hostname, lower-cased)")
	fs.StringArrayVar(&c.NodeLabels, "node-label", nil, "Label to register the node with, key=value (repeatable)")
	fs.StringArrayVar(&c.NodeTaints, "node-taint", nil, "Taint to register the node with, key=value:Effect (repeatable)")
	fs.StringArrayVar(&c.KubeletArgs, "kubelet-arg", nil, "Extra kubelet flag as key=value (repeatable; overrides kedge's default)")
	fs.StringArrayVar(&c.KubeProxyArgs, "kube-proxy-arg", nil, "Extra kube-proxy flag as key=value (repeatable)")
	fs.StringVar(&c.FlannelIface, "flannel-iface", "", "Interface for pod network traffic (default: the one holding the node IP)")
	fs.StringVar(&c.RegistriesFile, "registries-file", registries.DefaultPath, "Registry mirrors, credentials and TLS for image pulls (k3s registries.yaml schema; a missing file means none)")
	fs.StringVar(&c.ResolvConf, "resolv-conf", "", "resolv.conf for pods with host DNS (default: /etc/resolv.conf, or systemd-resolved's upstream file when that only lists a loopback stub)")
}

// maxSocketPath is the longest socket path containerd listens on: its
// ttrpc listener refuses more than 104 bytes (the BSDs' sun_path), though
// Linux would take 107.
const maxSocketPath = 104

// Layout is the node's directory tree.
func (c *Config) Layout() datadir.Layout {
	return datadir.Layout{DataDir: c.DataDir, RunDir: c.RunDir}
}

// Complete checks the node's flags, naming the flag, and resolves them:
// the node name, its addresses and the resolv.conf pods get.
func (c *Config) Complete() (Node, error) {
	if !filepath.IsAbs(c.DataDir) {
		return Node{}, fmt.Errorf("--data-dir %q: must be an absolute path", c.DataDir)
	}
	if !filepath.IsAbs(c.RunDir) {
		return Node{}, fmt.Errorf("--run-dir %q: must be an absolute path", c.RunDir)
	}
	// containerd also listens on <socket>.ttrpc, the longest of its paths.
	if sock := c.Layout().ContainerdSocket() + ".ttrpc"; len(sock) > maxSocketPath {
		return Node{}, fmt.Errorf("--run-dir %q is too long: containerd's socket %s would exceed the %d bytes containerd allows; use a shorter --run-dir", c.RunDir, sock, maxSocketPath)
	}
	node, err := c.Identity()
	if err != nil {
		return Node{}, err
	}
	if node.ResolvConf, err = resolvConf(c.ResolvConf); err != nil {
		return Node{}, err
	}
	return node, nil
}

// Identity resolves only the node's name and addresses, which a server
// without its own node still needs for its certificates.
func (c *Config) Identity() (Node, error) {
	name, err := c.name()
	if err != nil {
		return Node{}, err
	}
	ips, err := nodeIPs(c.NodeIPs)
	if err != nil {
		return Node{}, err
	}
	return Node{Config: *c, Name: name, IPs: ips, Layout: c.Layout()}, nil
}

// name is --node-name, else the lower-cased hostname.
func (c *Config) name() (string, error) {
	if c.NodeName != "" {
		if errs := validation.IsDNS1123Subdomain(c.NodeName); len(errs) > 0 {
			return "", fmt.Errorf("--node-name %q: %s", c.NodeName, strings.Join(errs, "; "))
		}
		return c.NodeName, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("reading hostname (or pass --node-name): %w", err)
	}
	return strings.ToLower(h), nil
}

// Cluster is what every node of a cluster must agree on: the server's
// flags, handed to joining agents by the supervisor.
type Cluster struct {
	ClusterCIDR    string
	ClusterDNS     string
	ClusterDomain  string
	FlannelBackend string // one of flannel.Backends
	KubeProxyMode  string // iptables or nftables
}

// AddFlags registers the settings only `kedge server` takes; joining
// agents get them from the server.
func (c *Cluster) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.KubeProxyMode, "kube-proxy-mode", "iptables", "kube-proxy mode: iptables or nftables")
	fs.StringVar(&c.FlannelBackend, "flannel-backend", "vxlan", "Pod network backend: "+strings.Join(flannel.Backends, ", "))
}

// Validate checks the cluster-wide settings. It does not look for iptables
// or nft: a host without them uses the runtime bundle's (agent/netfilter).
func (c Cluster) Validate() error {
	if err := flannel.CheckBackend(c.FlannelBackend); err != nil {
		return err
	}
	return kubeproxy.CheckBackend(c.KubeProxyMode)
}
