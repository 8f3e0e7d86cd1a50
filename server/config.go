package server

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/kedge-io/kedge/agent"
)

// Config is everything `kedge server` can be told.
type Config struct {
	DataDir               string
	HTTPSPort             int
	BindAddress           string
	AdvertiseAddress      string
	NodeIPs               []string
	TLSSANs               []string
	ClusterCIDR           string
	ServiceCIDR           string
	ClusterDNS            string
	ClusterDomain         string
	ServiceNodePortRange  string
	DatastoreEndpoint     string
	WriteKubeconfig       string
	WriteKubeconfigMode   string
	DisableAgent          bool
	Disable               []string
	LocalStoragePath      string
	Token                 string
	AgentToken            string
	APIServerArgs         []string
	ControllerManagerArgs []string
	SchedulerArgs         []string
	// Agent configures this server's own node; DataDir and NodeIPs are
	// copied in from the server's flags.
	Agent agent.Config
}

// AddFlags registers the server's flags; their names are also the config
// file keys and, upper-cased with a KEDGE_ prefix, the env vars.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&c.DataDir, "data-dir", "d", "/var/lib/kedge", "Directory holding all node state (certificates, database, runtime)")
	fs.IntVar(&c.HTTPSPort, "https-listen-port", 6443, "Port the apiserver serves on")
	fs.StringVar(&c.BindAddress, "bind-address", "0.0.0.0", "Address the apiserver listens on")
	fs.StringVar(&c.AdvertiseAddress, "advertise-address", "", "Address the apiserver announces to the cluster (default: the node IP)")
	fs.StringSliceVar(&c.NodeIPs, "node-ip", nil, "IP address of this node (default: the address of the default-route interface)")
	fs.StringArrayVar(&c.TLSSANs, "tls-san", nil, "Extra hostname or IP for the apiserver certificate (repeatable)")
	fs.StringVar(&c.ClusterCIDR, "cluster-cidr", "10.42.0.0/16", "Pod network")
	fs.StringVar(&c.ServiceCIDR, "service-cidr", "10.43.0.0/16", "Service network")
	fs.StringVar(&c.ClusterDNS, "cluster-dns", "10.43.0.10", "Cluster DNS service IP")
	fs.StringVar(&c.ClusterDomain, "cluster-domain", "cluster.local", "Cluster DNS domain")
	fs.StringVar(&c.ServiceNodePortRange, "service-node-port-range", "30000-32767", "Port range for NodePort services")
	fs.StringVar(&c.DatastoreEndpoint, "datastore-endpoint", "", "kine endpoint (postgres://, mysql://, http(s):// etcd); default: SQLite in the data dir")
	fs.StringVarP(&c.WriteKubeconfig, "write-kubeconfig", "o", "/etc/kedge/kedge.yaml", "Where to write the admin kubeconfig")
	fs.StringVar(&c.WriteKubeconfigMode, "write-kubeconfig-mode", "0600", "File mode of the admin kubeconfig, octal")
	fs.StringVarP(&c.Token, "token", "t", "", "Join token secret (default: generated once and kept in <data-dir>/server/token)")
	fs.StringVar(&c.AgentToken, "agent-token", "", "Separate join token secret for agents (kept in <data-dir>/server/agent-token); default: the server token")
	fs.BoolVar(&c.DisableAgent, "disable-agent", false, "Run the control plane only, without containerd, kubelet, kube-proxy and flannel")
	fs.StringSliceVar(&c.Disable, "disable", nil, "Packaged components not to deploy, and to remove if deployed: "+strings.Join(Disableable(), ", "))
	fs.StringVar(&c.LocalStoragePath, "default-local-storage-path", "", "Directory on each node for local-path volumes (default: <data-dir>/storage)")
	fs.StringArrayVar(&c.APIServerArgs, "kube-apiserver-arg", nil, "Extra kube-apiserver flag as key=value (repeatable; overrides kedge's default)")
	fs.StringArrayVar(&c.ControllerManagerArgs, "kube-controller-manager-arg", nil, "Extra kube-controller-manager flag as key=value (repeatable)")
	fs.StringArrayVar(&c.SchedulerArgs, "kube-scheduler-arg", nil, "Extra kube-scheduler flag as key=value (repeatable)")
	c.Agent.AddFlags(fs)
	c.Agent.AddClusterFlags(fs)
}

// Validate checks values a typo could break, naming the flag.
func (c *Config) Validate() error {
	if c.HTTPSPort < 1 || c.HTTPSPort > 65535 {
		return fmt.Errorf("--https-listen-port %d: want 1-65535", c.HTTPSPort)
	}
	for flag, cidr := range map[string]string{"cluster-cidr": c.ClusterCIDR, "service-cidr": c.ServiceCIDR} {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			return fmt.Errorf("--%s %q: not a CIDR", flag, cidr)
		}
	}
	for flag, ip := range map[string]string{"bind-address": c.BindAddress, "cluster-dns": c.ClusterDNS} {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("--%s %q: not an IP address", flag, ip)
		}
	}
	if c.AdvertiseAddress != "" && net.ParseIP(c.AdvertiseAddress) == nil {
		return fmt.Errorf("--advertise-address %q: not an IP address", c.AdvertiseAddress)
	}
	for _, ip := range c.NodeIPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("--node-ip %q: not an IP address", ip)
		}
	}
	if _, err := utilnet.ParsePortRange(c.ServiceNodePortRange); err != nil {
		return fmt.Errorf("--service-node-port-range %q: %w", c.ServiceNodePortRange, err)
	}
	if _, err := c.kubeconfigMode(); err != nil {
		return err
	}
	if !filepath.IsAbs(c.DataDir) {
		return fmt.Errorf("--data-dir %q: must be an absolute path", c.DataDir)
	}
	if c.LocalStoragePath != "" && !filepath.IsAbs(c.LocalStoragePath) {
		return fmt.Errorf("--default-local-storage-path %q: must be an absolute path", c.LocalStoragePath)
	}
	for _, name := range c.Disable {
		if !slices.Contains(Disableable(), name) {
			return fmt.Errorf("--disable %q: not a packaged component; want any of %s", name, strings.Join(Disableable(), ", "))
		}
	}
	if c.DisableAgent {
		return nil
	}
	a := c.agentConfig()
	return a.Validate()
}

// agentConfig is the node's configuration with the flags the server shares.
func (c *Config) agentConfig() agent.Config {
	a := c.Agent
	a.DataDir, a.NodeIPs = c.DataDir, c.NodeIPs
	return a
}

func (c *Config) kubeconfigMode() (os.FileMode, error) {
	m, err := strconv.ParseUint(c.WriteKubeconfigMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("--write-kubeconfig-mode %q: want an octal file mode such as 0600 or 0644", c.WriteKubeconfigMode)
	}
	return os.FileMode(m), nil
}

// serviceIP is the first address of the service network: the apiserver's
// own `kubernetes` Service.
func (c *Config) serviceIP() net.IP {
	_, ipnet, _ := net.ParseCIDR(c.ServiceCIDR)
	ip := make(net.IP, len(ipnet.IP))
	copy(ip, ipnet.IP)
	ip[len(ip)-1]++
	return ip
}

// singleServer is true when the datastore is SQLite, which only one server
// can use: leader election and lease bookkeeping are then pure write cost.
func (c *Config) singleServer() bool {
	return c.DatastoreEndpoint == "" || strings.HasPrefix(c.DatastoreEndpoint, "sqlite://")
}

// localAddress is where this process reaches its own apiserver.
func (c *Config) localAddress() string {
	ip := net.ParseIP(c.BindAddress)
	if ip.IsUnspecified() {
		if ip.To4() == nil {
			return "::1"
		}
		return "127.0.0.1"
	}
	return c.BindAddress
}

// Paths under the data dir; everything derives from --data-dir so several
// nodes can share a host in tests.
func (c *Config) serverDir() string { return filepath.Join(c.DataDir, "server") }
func (c *Config) tlsDir() string    { return filepath.Join(c.serverDir(), "tls") }
func (c *Config) credDir() string   { return filepath.Join(c.serverDir(), "cred") }
func (c *Config) dbDir() string     { return filepath.Join(c.serverDir(), "db") }

// manifestsDir is what the deploy controller applies (DESIGN.md decision 6).
func (c *Config) manifestsDir() string { return filepath.Join(c.serverDir(), "manifests") }

// storageDir is where local-path keeps volumes on every node.
func (c *Config) storageDir() string {
	if c.LocalStoragePath != "" {
		return c.LocalStoragePath
	}
	return filepath.Join(c.DataDir, "storage")
}

// disabled reports whether --disable names a packaged component.
func (c *Config) disabled(name string) bool { return slices.Contains(c.Disable, name) }
