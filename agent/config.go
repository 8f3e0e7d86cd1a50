package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kedge-io/kedge/agent/flannel"
	"github.com/kedge-io/kedge/agent/kubeproxy"
)

// Config is what a node is told by its flags. DataDir and NodeIPs are
// registered by the command (the server shares them with the control
// plane); AddFlags registers the rest.
type Config struct {
	DataDir        string
	RunDir         string
	NodeName       string
	NodeIPs        []string
	NodeLabels     []string
	NodeTaints     []string
	KubeletArgs    []string
	KubeProxyArgs  []string
	KubeProxyMode  string
	FlannelBackend string
	FlannelIface   string
	ResolvConf     string
}

// AddFlags registers the node flags shared by `kedge server` and
// `kedge agent`.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.RunDir, "run-dir", DefaultRunDir, "Directory for runtime state (containerd socket, pod network namespaces)")
	fs.StringVar(&c.NodeName, "node-name", "", "Node name (default: the hostname, lower-cased)")
	fs.StringArrayVar(&c.NodeLabels, "node-label", nil, "Label to register the node with, key=value (repeatable)")
	fs.StringArrayVar(&c.NodeTaints, "node-taint", nil, "Taint to register the node with, key=value:Effect (repeatable)")
	fs.StringArrayVar(&c.KubeletArgs, "kubelet-arg", nil, "Extra kubelet flag as key=value (repeatable; overrides kedge's default)")
	fs.StringArrayVar(&c.KubeProxyArgs, "kube-proxy-arg", nil, "Extra kube-proxy flag as key=value (repeatable)")
	fs.StringVar(&c.FlannelIface, "flannel-iface", "", "Interface for pod network traffic (default: the one holding the node IP)")
	fs.StringVar(&c.ResolvConf, "resolv-conf", "", "resolv.conf for pods with host DNS (default: /etc/resolv.conf, or systemd-resolved's upstream file when that only lists a loopback stub)")
}

// maxSocketPath is the longest unix socket path Linux accepts (sun_path).
const maxSocketPath = 107

// AddClusterFlags registers the settings every node must share; only
// `kedge server` takes them, and joining agents get them from the server.
func (c *Config) AddClusterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.KubeProxyMode, "kube-proxy-mode", "iptables", "kube-proxy mode: iptables or nftables")
	fs.StringVar(&c.FlannelBackend, "flannel-backend", "vxlan", "Pod network backend: "+strings.Join(flannel.Backends, ", "))
}

// Validate checks all flags before anything starts, naming the flag.
func (c *Config) Validate() error {
	if err := c.ValidateNode(); err != nil {
		return err
	}
	return c.ValidateCluster()
}

// ValidateNode checks the flags that are this node's own.
func (c *Config) ValidateNode() error {
	if !filepath.IsAbs(c.RunDir) {
		return fmt.Errorf("--run-dir %q: must be an absolute path", c.RunDir)
	}
	// containerd also listens on <socket>.ttrpc, the longest of its paths.
	if sock := c.Paths().ContainerdSocket() + ".ttrpc"; len(sock) > maxSocketPath {
		return fmt.Errorf("--run-dir %q is too long: containerd's socket %s would exceed the %d bytes Linux allows; use a shorter --run-dir", c.RunDir, sock, maxSocketPath)
	}
	if c.NodeName != "" {
		if errs := validation.IsDNS1123Subdomain(c.NodeName); len(errs) > 0 {
			return fmt.Errorf("--node-name %q: %s", c.NodeName, strings.Join(errs, "; "))
		}
	}
	if c.ResolvConf != "" {
		if _, err := os.Stat(c.ResolvConf); err != nil {
			return fmt.Errorf("--resolv-conf: %w", err)
		}
	}
	return nil
}

// ValidateCluster checks the cluster-wide settings and that the host has
// the packet-filter tool kube-proxy drives in the chosen mode.
func (c *Config) ValidateCluster() error {
	if err := flannel.CheckBackend(c.FlannelBackend); err != nil {
		return err
	}
	return kubeproxy.CheckBackend(c.KubeProxyMode, exec.LookPath)
}

// Name is the node name: --node-name, else the lower-cased hostname.
func (c *Config) Name() (string, error) {
	if c.NodeName != "" {
		return c.NodeName, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("reading hostname (or pass --node-name): %w", err)
	}
	return strings.ToLower(h), nil
}

// Paths are the node's directories.
func (c *Config) Paths() Paths { return Paths{DataDir: c.DataDir, RunDir: c.RunDir} }
