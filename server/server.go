package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent"
	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/datastore"
	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/kubeconfig"
	"github.com/kedge-io/kedge/passthrough"
	"github.com/kedge-io/kedge/server/controlplane"
	"github.com/kedge-io/kedge/server/pki"
	"github.com/kedge-io/kedge/server/rbac"
	"github.com/kedge-io/kedge/server/supervisor"
	"github.com/kedge-io/kedge/status"
)

// Run starts the control plane, logs "kedge server is ready" once it serves,
// and stops it in reverse order when ctx ends.
func Run(ctx context.Context, cfg Config) error {
	c, err := cfg.Complete()
	if err != nil {
		return err
	}
	if err := checkPort(c.BindAddress, c.HTTPSPort); err != nil {
		return err
	}
	lock, err := datadir.Claim(c.layout.ServerDir())
	if err != nil {
		return err
	}
	defer lock.Release()
	mgr, admin, err := prepare(c)
	if err != nil {
		return err
	}
	st, err := status.Serve(c.layout.StatusSocket(), "server", mgr)
	if err != nil {
		return err
	}
	defer st.Close()
	return mgr.Run(ctx, func(ctx context.Context) error {
		if err := waitReady(ctx, admin); err != nil {
			return err
		}
		klog.Info("kedge server is ready")
		go announce(ctx, c, admin)
		return nil
	})
}

// announce calls OnReady once the server's own node is registered too (at
// once without --disable-agent's node), so a service manager reports the
// server started when `kubectl get nodes` shows it.
func announce(ctx context.Context, c completed, admin *rest.Config) {
	if c.OnReady == nil {
		return
	}
	if !c.DisableAgent {
		if err := waitNode(ctx, admin, c.node.Name); err != nil {
			return
		}
	}
	c.OnReady()
}

// waitNode waits until the kubelet has registered the node called name.
func waitNode(ctx context.Context, admin *rest.Config, name string) error {
	client, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return err
	}
	return wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil, nil
	})
}

// prepare writes what every part reads before it starts (certificates,
// kubeconfigs, packaged manifests) and assembles the parts. These files are
// shared between parts, so they are written here rather than in one
// part's Init.
func prepare(c completed) (*component.Manager, *rest.Config, error) {
	bundle, err := ensurePKI(c)
	if err != nil {
		return nil, nil, err
	}
	creds, err := writeKubeconfigs(c, bundle)
	if err != nil {
		return nil, nil, err
	}
	if err := writeManifests(c.Config); err != nil {
		return nil, nil, err
	}
	tuneWrites(c.Config)
	return buildComponents(c, bundle, creds)
}

func ensurePKI(c completed) (*pki.Bundle, error) {
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("reading hostname: %w", err)
	}
	// advertiseIP is --advertise-address when given; pki drops duplicates.
	ips := append([]net.IP{c.advertiseIP}, c.node.IPs...)
	dir := c.layout.ServerTLSDir()
	bundle, err := pki.Ensure(pki.Options{
		Dir:           dir,
		Hostname:      strings.ToLower(hostname),
		NodeName:      c.node.Name,
		NodeIPs:       ips,
		ServiceIP:     c.serviceIP,
		ClusterDomain: c.Cluster.ClusterDomain,
		ExtraSANs:     c.TLSSANs,
	})
	if err != nil {
		return nil, fmt.Errorf("preparing certificates in %s: %w", dir, err)
	}
	return bundle, nil
}

// credentials are the kubeconfig files components use to reach the apiserver.
type credentials struct {
	admin, controller, scheduler, supervisor string
	node, kubeProxy, flannel                 string
}

func writeKubeconfigs(cfg completed, b *pki.Bundle) (credentials, error) {
	server := "https://" + net.JoinHostPort(cfg.localAddress(), strconv.Itoa(cfg.HTTPSPort))
	l := cfg.layout
	c := credentials{
		admin:      l.AdminKubeconfig(),
		controller: l.Kubeconfig("controller"),
		scheduler:  l.Kubeconfig("scheduler"),
		supervisor: l.Kubeconfig("supervisor"),
		node:       l.Kubeconfig("node"),
		kubeProxy:  l.Kubeconfig("kube-proxy"),
		flannel:    l.Kubeconfig("flannel"),
	}
	mode := cfg.kubeconfigMode
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

func buildComponents(cfg completed, b *pki.Bundle, creds credentials) (*component.Manager, *rest.Config, error) {
	admin, err := clientcmd.BuildConfigFromFlags("", creds.admin)
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", creds.admin, err)
	}
	store := datastore.New(datastore.Config{Dir: cfg.layout.DBDir(), Endpoint: cfg.DatastoreEndpoint})
	apiArgs, err := passthrough.Merge(apiServerDefaults(cfg, b, store.Endpoints()), cfg.APIServerArgs, "kube-apiserver-arg")
	if err != nil {
		return nil, nil, err
	}
	cmArgs, err := passthrough.Merge(controllerManagerDefaults(cfg.Config, b, creds.controller), cfg.ControllerManagerArgs, "kube-controller-manager-arg")
	if err != nil {
		return nil, nil, err
	}
	schedArgs, err := passthrough.Merge(schedulerDefaults(cfg.Config, creds.scheduler), cfg.SchedulerArgs, "kube-scheduler-arg")
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
	apiserver.Mount(joinapi.Prefix, sup)
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
	packaged, err := packagedComponents(cfg.Config, admin)
	if err != nil {
		return nil, nil, err
	}
	parts := append([]component.Component{store, apiserver, roles, cm, sched}, packaged...)
	if !cfg.DisableAgent {
		nodeParts, err := agent.Components(cfg.node, cfg.Cluster, agent.Credentials{
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
func newSupervisor(cfg completed, b *pki.Bundle, creds credentials) (*supervisor.Supervisor, error) {
	caBundle, err := os.ReadFile(b.ServerCA)
	if err != nil {
		return nil, err
	}
	clientCABundle, err := os.ReadFile(b.ClientCA)
	if err != nil {
		return nil, err
	}
	secrets, err := ensureTokens(cfg.Config, cfg.layout, caBundle)
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
		Cluster: joinapi.ClusterConfig{
			ClusterCIDR: cfg.Cluster.ClusterCIDR, ServiceCIDR: cfg.ServiceCIDR,
			ClusterDNS: cfg.Cluster.ClusterDNS, ClusterDomain: cfg.Cluster.ClusterDomain,
			FlannelBackend: cfg.Cluster.FlannelBackend, KubeProxyMode: cfg.Cluster.KubeProxyMode,
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
