package agent

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/join"
	"github.com/kedge-io/kedge/agent/loadbalancer"
	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/server/supervisor"
	"github.com/kedge-io/kedge/token"
)

// LocalAPIAddress is where an agent's kubelet, kube-proxy and flannel
// reach the apiserver: its load balancer.
const LocalAPIAddress = "127.0.0.1:6444"

// JoinConfig is `kedge agent`: the node flags and the server to join.
type JoinConfig struct {
	Config
	Server    string
	Token     string
	TokenFile string
}

// AddFlags registers `kedge agent`'s flags.
func (c *JoinConfig) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&c.Server, "server", "s", "", "Server to join, https://HOST:6443 (env KEDGE_URL)")
	fs.StringVarP(&c.Token, "token", "t", "", "Join token, the content of the server's <data-dir>/server/token (env KEDGE_TOKEN)")
	fs.StringVar(&c.TokenFile, "token-file", "", "File holding the join token")
	fs.StringVarP(&c.DataDir, "data-dir", "d", "/var/lib/kedge", "Directory holding all node state (certificates, runtime, images)")
	fs.StringSliceVar(&c.NodeIPs, "node-ip", nil, "IP address of this node (default: the address of the default-route interface)")
	c.Config.AddFlags(fs)
}

// Validate checks the flags before anything starts.
func (c *JoinConfig) Validate() error {
	if c.Server == "" {
		return fmt.Errorf("--server is required: the URL of a kedge server, e.g. https://10.0.0.1:6443")
	}
	if _, err := serverAddress(c.Server); err != nil {
		return err
	}
	if !filepath.IsAbs(c.DataDir) {
		return fmt.Errorf("--data-dir %q: must be an absolute path", c.DataDir)
	}
	if _, err := c.joinToken(); err != nil {
		return err
	}
	return c.Config.ValidateNode()
}

// joinToken reads --token, else --token-file.
func (c *JoinConfig) joinToken() (token.Token, error) {
	value, flag := c.Token, "--token"
	if value == "" && c.TokenFile != "" {
		data, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return token.Token{}, fmt.Errorf("--token-file: %w", err)
		}
		value, flag = string(data), "--token-file "+c.TokenFile
	}
	if strings.TrimSpace(value) == "" {
		return token.Token{}, fmt.Errorf("--token or --token-file is required: use the content of <data-dir>/server/token on the server")
	}
	t, err := token.Parse(value)
	if err != nil {
		return t, fmt.Errorf("%s: %w", flag, err)
	}
	return t, nil
}

// serverAddress is host:port of an https:// server URL.
func serverAddress(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("--server %q: want https://HOST:PORT, e.g. https://10.0.0.1:6443", server)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "443"), nil
	}
	return u.Host, nil
}

// RunAgent joins the server and runs the node until ctx ends: the load
// balancer, then the same parts as a server's own node.
func RunAgent(ctx context.Context, cfg JoinConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	tok, _ := cfg.joinToken() // Validate parsed it
	node, err := cfg.ResolveNode()
	if err != nil {
		return err
	}
	lock, err := datadir.Claim(filepath.Join(cfg.DataDir, "agent"))
	if err != nil {
		return err
	}
	defer lock.Release()
	addr, _ := serverAddress(cfg.Server)
	lb := loadbalancer.New(LocalAPIAddress, addr)
	files := join.Files{Dir: filepath.Join(cfg.DataDir, "agent", "tls")}
	cluster, err := join.Join(ctx, join.Options{
		Server: strings.TrimSuffix(cfg.Server, "/"), Token: tok, Files: files,
		NodeName: node.Name, NodeIPs: node.IPs, LocalURL: "https://" + LocalAPIAddress,
	})
	if err != nil {
		return err
	}
	parts, err := joinedComponents(ctx, cfg.Config, node, cluster, files)
	if err != nil {
		return err
	}
	mgr := component.NewManager(append([]component.Component{lb}, parts...)...)
	return runJoined(ctx, mgr, lb, files)
}

// joinedComponents are the node's parts with the cluster-wide settings
// the server handed out.
func joinedComponents(ctx context.Context, cfg Config, node Node, cluster supervisor.ClusterConfig, files join.Files) ([]component.Component, error) {
	klog.Infof("cluster settings from the server: --flannel-backend=%s --kube-proxy-mode=%s", cluster.FlannelBackend, cluster.KubeProxyMode)
	cfg.FlannelBackend, cfg.KubeProxyMode = cluster.FlannelBackend, cluster.KubeProxyMode
	if err := cfg.ValidateCluster(); err != nil {
		return nil, fmt.Errorf("with the server's settings: %w", err)
	}
	return Components(ctx, cfg, node, Cluster{
		ClusterCIDR: cluster.ClusterCIDR, ClusterDNS: cluster.ClusterDNS, ClusterDomain: cluster.ClusterDomain,
	}, Credentials{
		Kubeconfig:          files.Kubeconfig(supervisor.KubeletClient),
		KubeProxyKubeconfig: files.Kubeconfig(supervisor.KubeProxy),
		FlannelKubeconfig:   files.Kubeconfig(supervisor.Flannel),
		ClientCA:            files.ClientCA(),
		ServingCert:         files.Cert(supervisor.KubeletServing),
		ServingKey:          files.Key(supervisor.KubeletServing),
	})
}

// stopTimeout bounds a clean shutdown of the node's parts.
const stopTimeout = 30 * time.Second

func runJoined(ctx context.Context, mgr *component.Manager, lb *loadbalancer.LoadBalancer, files join.Files) error {
	if err := mgr.Start(ctx); err != nil {
		return err
	}
	klog.Info("kedge agent is ready")
	if client, err := followClient(files); err != nil {
		klog.Warningf("the load balancer will not learn other servers: %v", err)
	} else {
		go lb.Follow(ctx, client)
	}
	err := mgr.Wait(ctx)
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if stopErr := mgr.Stop(stopCtx); stopErr != nil {
		klog.Errorf("shutdown: %v", stopErr)
	}
	return err
}

// followClient uses kube-proxy's identity, which may read the
// `kubernetes` EndpointSlices; the node's own may not.
func followClient(files join.Files) (kubernetes.Interface, error) {
	config, err := clientcmd.BuildConfigFromFlags("", files.Kubeconfig(supervisor.KubeProxy))
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(config)
}
