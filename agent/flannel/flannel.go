package flannel

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/flannel-io/flannel/pkg/backend"
	_ "github.com/flannel-io/flannel/pkg/backend/hostgw"    // registers host-gw
	_ "github.com/flannel-io/flannel/pkg/backend/vxlan"     // registers vxlan
	_ "github.com/flannel-io/flannel/pkg/backend/wireguard" // registers wireguard-native
	"github.com/flannel-io/flannel/pkg/ip"
	"github.com/flannel-io/flannel/pkg/subnet"
	"github.com/flannel-io/flannel/pkg/subnet/kube"
	"github.com/flannel-io/flannel/pkg/trafficmngr"
	"github.com/flannel-io/flannel/pkg/trafficmngr/iptables"
	"github.com/flannel-io/flannel/pkg/trafficmngr/nftables"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/cni"
	"github.com/kedge-io/kedge/atomicfile"
	"github.com/kedge-io/kedge/component"
)

const (
	// annotationPrefix is flannel's own, so nodes stay readable by
	// standard flannel tooling.
	annotationPrefix = "flannel.alpha.coreos.com"
	// resyncSeconds is how often flannel re-checks its masquerade and
	// forward rules; upstream's 5 s costs an iptables run per table every
	// few seconds on a small board for rules nobody else touches.
	resyncSeconds = 30
)

// Flannel is the overlay network agent as a component.
type Flannel struct {
	opts   Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ctx    context.Context
}

// New returns the component for o.
func New(o Options) *Flannel { return &Flannel{opts: o} }

// Name implements component.Component.
func (f *Flannel) Name() string { return "flannel" }

// Init writes flannel's network configuration, which its subnet manager
// reads.
func (f *Flannel) Init(context.Context) error {
	data, err := netConf(f.opts)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(f.opts.NetConf, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", f.opts.NetConf, err)
	}
	return nil
}

// Start waits for the node's pod CIDR, sets up the overlay and the
// masquerade rules, and writes the CNI configuration, which needs the
// node's lease; pods can start once it returns.
func (f *Flannel) Start(ctx context.Context) error {
	if err := waitForPodCIDR(ctx, f.opts.Kubeconfig, f.opts.NodeName); err != nil {
		return err
	}
	// The subnet manager's informers and the backend outlive Start.
	f.ctx, f.cancel = context.WithCancel(context.Background())
	if err := f.run(f.ctx); err != nil {
		f.cancel()
		f.wg.Wait()
		return err
	}
	return nil
}

func (f *Flannel) run(ctx context.Context) error {
	// flannel's kube subnet manager learns which Node it runs for only
	// from this variable; kedge runs one node per process.
	if err := os.Setenv("NODE_NAME", f.opts.NodeName); err != nil {
		return err
	}
	sm, err := kube.NewSubnetManager(ctx, "", f.opts.Kubeconfig, annotationPrefix, f.opts.NetConf, true)
	if err != nil {
		return fmt.Errorf("flannel subnet manager: %w", err)
	}
	config, err := sm.GetNetworkConfig(ctx)
	if err != nil {
		return fmt.Errorf("flannel network config: %w", err)
	}
	ext, err := externalInterface(f.opts.Iface, f.opts.NodeIP)
	if err != nil {
		return err
	}
	be, err := backend.NewManager(ctx, sm, ext).GetBackend(config.BackendType)
	if err != nil {
		return fmt.Errorf("flannel backend %s: %w", config.BackendType, err)
	}
	network, err := be.RegisterNetwork(ctx, &f.wg, config)
	if err != nil {
		return fmt.Errorf("flannel %s network on %s: %w", config.BackendType, ext.IfaceName, err)
	}
	if err := f.trafficRules(ctx, config, network); err != nil {
		return err
	}
	if err := cni.Write(f.opts.CNIConfDir, cni.Options{
		PodCIDR: network.Lease().Subnet.String(), ClusterCIDR: f.opts.ClusterCIDR,
		MTU: network.MTU(), NetworksDir: f.opts.NetworksDir,
	}); err != nil {
		return err
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		network.Run(ctx)
	}()
	klog.Infof("flannel %s: pod subnet %s on %s, MTU %d", config.BackendType, network.Lease().Subnet, ext.IfaceName, network.MTU())
	return sm.CompleteLease(ctx, network.Lease(), &f.wg)
}

// trafficRules masquerades pod traffic leaving the cluster network and
// accepts forwarded pod traffic even where the FORWARD policy is DROP.
func (f *Flannel) trafficRules(ctx context.Context, config *subnet.Config, network backend.Network) error {
	var tm trafficmngr.TrafficManager = &iptables.IPTablesManager{}
	if f.opts.NFTables {
		tm = &nftables.NFTablesManager{}
	}
	if err := tm.Init(ctx); err != nil {
		return fmt.Errorf("flannel traffic rules: %w", err)
	}
	// Passing the current network and lease as the "previous" ones skips
	// upstream's recycling of rules from an earlier, different subnet: a
	// node keeps its podCIDR for life.
	lease := network.Lease()
	if err := tm.SetupAndEnsureMasqRules(ctx, config.Network, lease.Subnet, config.Network,
		ip.IP6Net{}, ip.IP6Net{}, ip.IP6Net{}, lease, resyncSeconds, false); err != nil {
		return fmt.Errorf("flannel masquerade rules: %w", err)
	}
	tm.SetupAndEnsureForwardRules(ctx, config.Network, ip.IP6Net{}, resyncSeconds)
	return nil
}

// Ready is healthy until Stop.
func (f *Flannel) Ready(context.Context) error {
	if f.ctx == nil || f.ctx.Err() != nil {
		return fmt.Errorf("flannel is not running")
	}
	return nil
}

// Stop ends flannel's goroutines. The overlay device and routes stay, so
// pods keep their network while kedge restarts.
func (f *Flannel) Stop(ctx context.Context) error {
	if f.cancel == nil {
		return nil
	}
	f.cancel()
	return component.WaitGroup(ctx, &f.wg, "flannel's goroutines")
}

// waitForPodCIDR polls until the controller-manager has given the node a
// pod CIDR, which needs the kubelet to have registered it first.
func waitForPodCIDR(ctx context.Context, kubeconfig, node string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	begin := time.Now()
	for {
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err == nil && n.Spec.PodCIDR != "" {
			return nil
		}
		if time.Since(begin) > 30*time.Second {
			klog.Infof("still waiting for node %s to get a pod CIDR (last error: %v)", node, err)
			begin = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for node %s's pod CIDR: %w", node, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
