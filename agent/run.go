package agent

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/join"
	"github.com/kedge-io/kedge/agent/loadbalancer"
	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/status"
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
	// OnReady, when set, is called once every part runs (the kubelet
	// included); `kedge agent` tells systemd then.
	OnReady func()
}

// AddFlags registers `kedge agent`'s flags.
func (c *JoinConfig) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&c.Server, "server", "s", "", "Server to join, https://HOST:6443 (env KEDGE_URL)")
	fs.StringVarP(&c.Token, "token", "t", "", "Join token, the content of the server's <data-dir>/server/token (env KEDGE_TOKEN)")
	fs.StringVar(&c.TokenFile, "token-file", "", "File holding the join token")
	fs.StringVarP(&c.DataDir, "data-dir", "d", datadir.DefaultDataDir, "Directory holding all node state (certificates, runtime, images)")
	fs.StringSliceVar(&c.NodeIPs, "node-ip", nil, "IP address of this node (default: the address of the default-route interface)")
	c.Config.AddFlags(fs)
}

// joining is a completed JoinConfig.
type joining struct {
	Node
	server  string // the URL as given, without a trailing slash
	address string // its host:port
	token   token.Token
}

// Complete checks the flags before anything starts and resolves them.
func (c *JoinConfig) Complete() (joining, error) {
	if c.Server == "" {
		return joining{}, fmt.Errorf("--server is required: the URL of a kedge server, e.g. https://10.0.0.1:6443")
	}
	address, err := serverAddress(c.Server)
	if err != nil {
		return joining{}, err
	}
	tok, err := c.joinToken()
	if err != nil {
		return joining{}, err
	}
	node, err := c.Config.Complete()
	if err != nil {
		return joining{}, err
	}
	return joining{Node: node, server: strings.TrimSuffix(c.Server, "/"), address: address, token: tok}, nil
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
// balancer, then the same parts as a server's own node. Joining comes
// before the parts are assembled because the server's settings decide them.
func RunAgent(ctx context.Context, cfg JoinConfig) error {
	j, err := cfg.Complete()
	if err != nil {
		return err
	}
	lock, err := datadir.Claim(j.Layout.AgentDir())
	if err != nil {
		return err
	}
	defer lock.Release()
	files := join.Files{Dir: j.Layout.AgentTLSDir()}
	settings, err := join.Join(ctx, join.Options{
		Server: j.server, Token: j.token, Files: files,
		NodeName: j.Name, NodeIPs: j.IPs, LocalURL: "https://" + LocalAPIAddress,
	})
	if err != nil {
		return err
	}
	parts, err := joinedComponents(j, settings, files)
	if err != nil {
		return err
	}
	mgr := component.NewManager(parts...)
	st, err := status.Serve(j.Layout.StatusSocket(), "agent", mgr)
	if err != nil {
		return err
	}
	defer st.Close()
	return mgr.Run(ctx, func(context.Context) error {
		klog.Info("kedge agent is ready")
		if cfg.OnReady != nil {
			cfg.OnReady()
		}
		return nil
	})
}

// joinedComponents are the load balancer and the node's parts, with the
// cluster-wide settings the server handed out.
func joinedComponents(j joining, settings joinapi.ClusterConfig, files join.Files) ([]component.Component, error) {
	klog.Infof("cluster settings from the server: --flannel-backend=%s --kube-proxy-mode=%s", settings.FlannelBackend, settings.KubeProxyMode)
	cluster := Cluster{
		ClusterCIDR: settings.ClusterCIDR, ClusterDNS: settings.ClusterDNS, ClusterDomain: settings.ClusterDomain,
		FlannelBackend: settings.FlannelBackend, KubeProxyMode: settings.KubeProxyMode,
	}
	if err := cluster.Validate(); err != nil {
		return nil, fmt.Errorf("with the server's settings: %w", err)
	}
	lb := loadbalancer.New(LocalAPIAddress, j.address)
	client, err := endpointsClient(files)
	if err != nil {
		return nil, err
	}
	lb.FollowEndpoints(client)
	parts, err := Components(j.Node, cluster, Credentials{
		Kubeconfig:          files.Kubeconfig(joinapi.KubeletClient),
		KubeProxyKubeconfig: files.Kubeconfig(joinapi.KubeProxy),
		FlannelKubeconfig:   files.Kubeconfig(joinapi.Flannel),
		ClientCA:            files.ClientCA(),
		ServingCert:         files.Cert(joinapi.KubeletServing),
		ServingKey:          files.Key(joinapi.KubeletServing),
	})
	if err != nil {
		return nil, err
	}
	return append([]component.Component{lb}, parts...), nil
}

// endpointsClient lets the load balancer learn the servers. It uses
// kube-proxy's identity, which may read the `kubernetes` EndpointSlices;
// the node's own may not.
func endpointsClient(files join.Files) (kubernetes.Interface, error) {
	kubeconfig := files.Kubeconfig(joinapi.KubeProxy)
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	return kubernetes.NewForConfig(config)
}
