package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent"
	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/datastore"
	"github.com/kedge-io/kedge/kubeconfig"
	"github.com/kedge-io/kedge/passthrough"
	"github.com/kedge-io/kedge/server/controlplane"
	"github.com/kedge-io/kedge/server/pki"
	"github.com/kedge-io/kedge/server/rbac"
	"github.com/kedge-io/kedge/server/supervisor"
)

// stopTimeout bounds a clean shutdown of all components.
const stopTimeout = 30 * time.Second

// Run starts the control plane, logs "kedge server is ready" once it serves,
// and stops it in reverse order when ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	node, err := resolveNode(cfg)
	if err != nil {
		return err
	}
	advertiseIP, err := resolveAdvertiseIP(cfg, node)
	if err != nil {
		return err
	}
	lock, err := datadir.Claim(cfg.serverDir())
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := checkPort(cfg.BindAddress, cfg.HTTPSPort); err != nil {
		return err
	}
	bundle, err := ensurePKI(cfg, node, advertiseIP)
	if err != nil {
		return err
	}
	creds, err := writeKubeconfigs(cfg, bundle)
	if err != nil {
		return err
	}
	if err := writeManifests(cfg); err != nil {
		return err
	}
	tuneWrites(cfg)
	mgr, admin, err := buildComponents(ctx, cfg, node, advertiseIP, bundle, creds)
	if err != nil {
		return err
	}
	if err := mgr.Start(ctx); err != nil {
		return err
	}
	err = waitReady(ctx, admin)
	if err == nil {
		klog.Info("kedge server is ready")
		err = mgr.Wait(ctx)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if stopErr := mgr.Stop(stopCtx); stopErr != nil {
		klog.Errorf("shutdown: %v", stopErr)
	}
	return err
}

// resolveNode is the server's own node, also without an agent: the
// apiserver advertises its address.
func resolveNode(cfg Config) (agent.Node, error) {
	a := cfg.agentConfig()
	return a.ResolveNode()
}

// resolveAdvertiseIP returns the address the apiserver advertises. Kubernetes
// refuses loopback addresses in the `kubernetes` Service endpoints, so one
// is rejected here with the flag to fix rather than logged every 10 s.
func resolveAdvertiseIP(cfg Config, node agent.Node) (net.IP, error) {
	ip, flag := node.IPs[0], "--node-ip"
	if cfg.AdvertiseAddress != "" {
		ip, flag = net.ParseIP(cfg.AdvertiseAddress), "--advertise-address"
	}
	if ip.IsLoopback() {
		return nil, fmt.Errorf("%s %s: the apiserver cannot advertise a loopback address; give this node's LAN address (the server may still listen on loopback with --bind-address)", flag, ip)
	}
	return ip, nil
}

func ensurePKI(cfg Config, node agent.Node, advertiseIP net.IP) (*pki.Bundle, error) {
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("reading hostname: %w", err)
	}
	// advertiseIP is --advertise-address when given; pki drops duplicates.
	ips := append([]net.IP{advertiseIP}, node.IPs...)
	bundle, err := pki.Ensure(pki.Options{
		Dir:           cfg.tlsDir(),
		Hostname:      strings.ToLower(hostname),
		NodeName:      node.Name,
		NodeIPs:       ips,
		ServiceIP:     cfg.serviceIP(),
		ClusterDomain: cfg.ClusterDomain,
		ExtraSANs:     cfg.TLSSANs,
	})
	if err != nil {
		return nil, fmt.Errorf("preparing certificates in %s: %w", cfg.tlsDir(), err)
	}
	return bundle, nil
}

// credentials are the kubeconfig files components use to reach the apiserver.
type credentials struct {
	admin, controller, scheduler, supervisor string
	node, kubeProxy, flannel                 string
}

func writeKubeconfigs(cfg Config, b *pki.Bundle) (credentials, error) {
	server := "https://" + net.JoinHostPort(cfg.localAddress(), strconv.Itoa(cfg.HTTPSPort))
	c := credentials{
		admin:      filepath.Join(cfg.credDir(), "admin.kubeconfig"),
		controller: filepath.Join(cfg.credDir(), "controller.kubeconfig"),
		scheduler:  filepath.Join(cfg.credDir(), "scheduler.kubeconfig"),
		supervisor: filepath.Join(cfg.credDir(), "supervisor.kubeconfig"),
		node:       filepath.Join(cfg.credDir(), "node.kubeconfig"),
		kubeProxy:  filepath.Join(cfg.credDir(), "kube-proxy.kubeconfig"),
		flannel:    filepath.Join(cfg.credDir(), "flannel.kubeconfig"),
	}
	mode, _ := cfg.kubeconfigMode()
	files := []kubeconfig.Options{
		{Path: c.admin, Mode: 0o600, CertFile: b.AdminCert, KeyFile: b.AdminKey},
		{Path: c.controller, Mode: 0o600, CertFile: b.ControllerCert, KeyFile: b.ControllerKey},
		{Path: c.scheduler, Mode: 0o600, CertFile: b.SchedulerCert, KeyFile: b.SchedulerKey},
		{Path: c.supervisor, Mode: 0o600, CertFile: b.SupervisorCert, KeyFile: b.SupervisorKey},
		{Path: c.node, Mode: 0o600, CertFile: b.NodeClientCert, KeyFile: b.NodeClientKey},
		{Path: c.kubeProxy, Mode: 0o600, CertFile: b.KubeProxyCert, KeyFile: b.KubeProxyKey},
		{Path: c.flannel, Mode: 0o600, CertFile: b.FlannelCert, KeyFile: b.FlannelKey},
		{Path: cfg.WriteKubeconfig, Mode: mode, CertFile: b.AdminCert, KeyFile: b.AdminKey},
	}
	for _, f := range files {
		f.Server, f.CAFile = server, b.ServerCA
		if err := kubeconfig.Write(f); err != nil {
			if f.Path == cfg.WriteKubeconfig {
				return c, fmt.Errorf("%w (check --write-kubeconfig)", err)
			}
			return c, err
		}
	}
	return c, nil
}

func buildComponents(ctx context.Context, cfg Config, node agent.Node, advertiseIP net.IP, b *pki.Bundle, creds credentials) (*component.Manager, *rest.Config, error) {
	admin, err := clientcmd.BuildConfigFromFlags("", creds.admin)
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", creds.admin, err)
	}
	store := datastore.New(datastore.Config{Dir: cfg.dbDir(), Endpoint: cfg.DatastoreEndpoint})
	apiArgs, err := passthrough.Merge(apiServerDefaults(cfg, advertiseIP, b, store.Endpoints()), cfg.APIServerArgs, "kube-apiserver-arg")
	if err != nil {
		return nil, nil, err
	}
	cmArgs, err := passthrough.Merge(controllerManagerDefaults(cfg, b, creds.controller), cfg.ControllerManagerArgs, "kube-controller-manager-arg")
	if err != nil {
		return nil, nil, err
	}
	schedArgs, err := passthrough.Merge(schedulerDefaults(cfg, creds.scheduler), cfg.SchedulerArgs, "kube-scheduler-arg")
	if err != nil {
		return nil, nil, err
	}
	apiserver, err := controlplane.NewAPIServer(apiArgs, admin)
	if err != nil {
		return nil, nil, err
	}
	sup, err := newSupervisor(cfg, b, creds)
	if err != nil {
		return nil, nil, err
	}
	apiserver.Mount(supervisor.Prefix, sup)
	cm, err := controlplane.NewControllerManager(cmArgs)
	if err != nil {
		return nil, nil, err
	}
	sched, err := controlplane.NewScheduler(schedArgs)
	if err != nil {
		return nil, nil, err
	}
	// Roles go in before any agent starts, also on a server without its
	// own agent, since agents elsewhere need them.
	roles := rbac.NewBootstrap(admin, rbac.Flannel(pki.FlannelUser))
	packaged, err := packagedComponents(cfg, admin)
	if err != nil {
		return nil, nil, err
	}
	parts := append([]component.Component{store, apiserver, roles, cm, sched}, packaged...)
	if !cfg.DisableAgent {
		nodeParts, err := agent.Components(ctx, cfg.agentConfig(), node, agent.Cluster{
			ClusterCIDR: cfg.ClusterCIDR, ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDomain,
		}, agent.Credentials{
			Kubeconfig: creds.node, KubeProxyKubeconfig: creds.kubeProxy, FlannelKubeconfig: creds.flannel,
			ClientCA:    b.ClientCA,
			ServingCert: b.KubeletServingCert, ServingKey: b.KubeletServingKey,
		})
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, nodeParts...)
	}
	return component.NewManager(parts...), admin, nil
}

// newSupervisor prepares the join API and the token files agents join with.
func newSupervisor(cfg Config, b *pki.Bundle, creds credentials) (*supervisor.Supervisor, error) {
	caBundle, err := os.ReadFile(b.ServerCA)
	if err != nil {
		return nil, err
	}
	clientCABundle, err := os.ReadFile(b.ClientCA)
	if err != nil {
		return nil, err
	}
	secrets, err := ensureTokens(cfg, caBundle)
	if err != nil {
		return nil, err
	}
	serverCA, err := pki.LoadAuthority(b.ServerCA, b.ServerCAKey)
	if err != nil {
		return nil, err
	}
	clientCA, err := pki.LoadAuthority(b.ClientCA, b.ClientCAKey)
	if err != nil {
		return nil, err
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", creds.supervisor)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", creds.supervisor, err)
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	return supervisor.New(supervisor.Options{
		CABundle: caBundle, ClientCABundle: clientCABundle,
		ServerCA: serverCA, ClientCA: clientCA,
		Cluster: supervisor.ClusterConfig{
			ClusterCIDR: cfg.ClusterCIDR, ServiceCIDR: cfg.ServiceCIDR,
			ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDomain,
			FlannelBackend: cfg.Agent.FlannelBackend, KubeProxyMode: cfg.Agent.KubeProxyMode,
		},
		ServerSecret: secrets.server, AgentSecret: secrets.agent,
		Client: client,
	}), nil
}

// waitReady waits for the default namespace, which the apiserver creates
// after /readyz turns ok; together they mean clients can use the cluster.
func waitReady(ctx context.Context, admin *rest.Config) error {
	client, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return err
	}
	for {
		_, err := client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			klog.V(2).Infof("waiting for the default namespace: %v", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
