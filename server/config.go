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
	"github.com/kedge-io/kedge/datadir"
)

// Config is everything `kedge server` can be told.
type Config struct {
	DataDir               string
	HTTPSPort             int
	BindAddress           string
	AdvertiseAddress      string
	NodeIPs               []string
	TLSSANs               []string
	ServiceCIDR           string
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
	// Cluster holds the settings every node shares; joining agents get
	// them from the supervisor.
	Cluster agent.Cluster
	// Agent configures this server's own node; DataDir and NodeIPs are
	// copied in from the server's flags.
	Agent agent.Config
	// OnReady, when set, is called once the API serves and the server's
	// own node is registered; `kedge server` tells systemd then.
	OnReady func()
}

// AddFlags registers the server's flags; their names are also the config
// file keys and, upper-cased with a KEDGE_ prefix, the env vars.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&c.DataDir, "data-dir", "d", datadir.DefaultDataDir, "Directory holding all node state (certificates, database, runtime)")
	fs.IntVar(&c.HTTPSPort, "https-listen-port", 6443, "Port the apiserver serves on")
	fs.StringVar(&c.BindAddress, "bind-address", "0.0.0.0", "Address the apiserver listens on")
	fs.StringVar(&c.AdvertiseAddress, "advertise-address", "", "Address the apiserver announces to the cluster (default: the node IP)")
	fs.StringSliceVar(&c.NodeIPs, "node-ip", nil, "IP address of this node (default: the address of the default-route interface)")
	fs.StringArrayVar(&c.TLSSANs, "tls-san", nil, "Extra hostname or IP for the apiserver certificate (repeatable)")
	fs.StringVar(&c.Cluster.ClusterCIDR, "cluster-cidr", "10.42.0.0/16", "Pod network")
	fs.StringVar(&c.ServiceCIDR, "service-cidr", "10.43.0.0/16", "Service network")
	fs.StringVar(&c.Cluster.ClusterDNS, "cluster-dns", "10.43.0.10", "Cluster DNS service IP")
	fs.StringVar(&c.Cluster.ClusterDomain, "cluster-domain", "cluster.local", "Cluster DNS domain")
	fs.StringVar(&c.ServiceNodePortRange, "service-node-port-range", "30000-32767", "Port range for NodePort services")
	fs.StringVar(&c.DatastoreEndpoint, "datastore-endpoint", "", "kine endpoint (postgres://, mysql://, http(s):// etcd); default: SQLite in the data dir")
	fs.StringVarP(&c.WriteKubeconfig, "write-kubeconfig", "o", datadir.DefaultKubeconfig, "Where to write the admin kubeconfig")
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
	c.Cluster.AddFlags(fs)
}

// completed is a checked Config with the values its flags resolved to, so
// nothing is parsed twice (upstream's Complete() does the same).
type completed struct {
	Config
	layout         datadir.Layout
	node           agent.Node // without the agent: only name and addresses
	advertiseIP    net.IP
	serviceIP      net.IP // the apiserver's own `kubernetes` Service
	bindIP         net.IP
	kubeconfigMode os.FileMode
}

// Complete checks values a typo could break, naming the flag, and resolves
// them.
func (c *Config) Complete() (completed, error) {
	done := completed{Config: *c}
	if err := c.checkFlags(); err != nil {
		return done, err
	}
	var err error
	if done.serviceIP, err = firstIP("service-cidr", c.ServiceCIDR); err != nil {
		return done, err
	}
	if done.bindIP, err = parseIP("bind-address", c.BindAddress); err != nil {
		return done, err
	}
	if done.kubeconfigMode, err = c.kubeconfigMode(); err != nil {
		return done, err
	}
	if done.node, err = c.completeNode(); err != nil {
		return done, err
	}
	done.layout = done.node.Layout
	done.advertiseIP, err = c.advertiseIP(done.node)
	return done, err
}

// checkFlags checks what needs no resolving.
func (c *Config) checkFlags() error {
	if c.HTTPSPort < 1 || c.HTTPSPort > 65535 {
		return fmt.Errorf("--https-listen-port %d: want 1-65535", c.HTTPSPort)
	}
	if _, _, err := net.ParseCIDR(c.Cluster.ClusterCIDR); err != nil {
		return fmt.Errorf("--cluster-cidr %q: not a CIDR", c.Cluster.ClusterCIDR)
	}
	if _, err := parseIP("cluster-dns", c.Cluster.ClusterDNS); err != nil {
		return err
	}
	if _, err := utilnet.ParsePortRange(c.ServiceNodePortRange); err != nil {
		return fmt.Errorf("--service-node-port-range %q: %w", c.ServiceNodePortRange, err)
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
	return nil
}

// completeNode resolves the server's own node. Without the agent only its
// name and addresses count: the apiserver advertises them.
func (c *Config) completeNode() (agent.Node, error) {
	a := c.Agent
	a.DataDir, a.NodeIPs = c.DataDir, c.NodeIPs
	if c.DisableAgent {
		return a.Identity()
	}
	if err := c.Cluster.Validate(); err != nil {
		return agent.Node{}, err
	}
	return a.Complete()
}

// advertiseIP is the address the apiserver advertises. Kubernetes refuses
// loopback addresses in the `kubernetes` Service endpoints, so one is
// rejected here with the flag to fix rather than logged every 10 s.
func (c *Config) advertiseIP(node agent.Node) (net.IP, error) {
	ip, flag := node.IPs[0], "--node-ip"
	if c.AdvertiseAddress != "" {
		var err error
		if ip, err = parseIP("advertise-address", c.AdvertiseAddress); err != nil {
			return nil, err
		}
		flag = "--advertise-address"
	}
	if ip.IsLoopback() {
		return nil, fmt.Errorf("%s %s: the apiserver cannot advertise a loopback address; give this node's LAN address (the server may still listen on loopback with --bind-address)", flag, ip)
	}
	return ip, nil
}

func parseIP(flag, value string) (net.IP, error) {
	ip := net.ParseIP(value)
	if ip == nil {
		return nil, fmt.Errorf("--%s %q: not an IP address", flag, value)
	}
	return ip, nil
}

// firstIP is the first address of a network: the service CIDR's goes to
// the apiserver's own `kubernetes` Service.
func firstIP(flag, cidr string) (net.IP, error) {
	_, ipnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("--%s %q: not a CIDR", flag, cidr)
	}
	ip := slices.Clone(ipnet.IP)
	ip[len(ip)-1]++
	return ip, nil
}

func (c *Config) kubeconfigMode() (os.FileMode, error) {
	m, err := strconv.ParseUint(c.WriteKubeconfigMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("--write-kubeconfig-mode %q: want an octal file mode such as 0600 or 0644", c.WriteKubeconfigMode)
	}
	return os.FileMode(m), nil
}

// singleServer is true when the datastore is SQLite, which only one server
// can use: leader election and lease bookkeeping are then pure write cost.
func (c *Config) singleServer() bool {
	return c.DatastoreEndpoint == "" || strings.HasPrefix(c.DatastoreEndpoint, "sqlite://")
}

// localAddress is where this process reaches its own apiserver.
func (c completed) localAddress() string {
	if c.bindIP.IsUnspecified() {
		if c.bindIP.To4() == nil {
			return "::1"
		}
		return "127.0.0.1"
	}
	return c.BindAddress
}

// layout is the data dir's tree.
func (c *Config) layout() datadir.Layout {
	return datadir.Layout{DataDir: c.DataDir, RunDir: c.Agent.RunDir}
}

// manifestsDir is what the deploy controller applies (docs/architecture.md,
// decision 6).
func (c *Config) manifestsDir() string { return c.layout().ManifestsDir() }

// storageDir is where local-path keeps volumes on every node.
func (c *Config) storageDir() string {
	if c.LocalStoragePath != "" {
		return c.LocalStoragePath
	}
	return c.layout().StorageDir()
}

// disabled reports whether --disable names a packaged component.
func (c *Config) disabled(name string) bool { return slices.Contains(c.Disable, name) }
