package server

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/manifests"
	"github.com/kedge-io/kedge/server/deploy"
	"github.com/kedge-io/kedge/server/informers"
	"github.com/kedge-io/kedge/server/nodehosts"
	"github.com/kedge-io/kedge/server/servicelb"
)

// ServiceLB is the --disable name of the service load balancer, which is a
// controller in this process rather than a manifest.
const ServiceLB = "servicelb"

// Disableable lists the names --disable takes.
func Disableable() []string { return append(slices.Clone(manifests.Names), ServiceLB) }

// writeManifests puts the packaged components, rendered for this cluster,
// into the manifests dir before the deploy controller starts reading it.
func writeManifests(cfg Config) error {
	err := manifests.Write(manifests.Options{
		Dir: cfg.manifestsDir(),
		Values: manifests.Values{
			ClusterDNS:    cfg.Cluster.ClusterDNS,
			ClusterDomain: cfg.Cluster.ClusterDomain,
			StorageDir:    cfg.storageDir(),
			Images:        manifests.DefaultImages(),
		},
		Disabled: cfg.Disable,
		Skipped:  deploy.Skipped,
	})
	if err != nil {
		return fmt.Errorf("writing packaged manifests to %s: %w", cfg.manifestsDir(), err)
	}
	return nil
}

// reservedPorts are what kedge itself listens on at node IPs: kube-proxy
// would hand them to a LoadBalancer Service asking for them, and lock
// agents (apiserver), metrics (kubelet) or the pod network (flannel) out.
func reservedPorts(cfg Config) []servicelb.Port {
	return []servicelb.Port{
		{Protocol: corev1.ProtocolTCP, Number: int32(cfg.HTTPSPort)},
		{Protocol: corev1.ProtocolTCP, Number: 10250}, // kubelet
		{Protocol: corev1.ProtocolUDP, Number: 8472},  // flannel vxlan
		{Protocol: corev1.ProtocolUDP, Number: 51820}, // flannel wireguard-native
	}
}

// packagedComponents are the server's controllers for workloads: the
// manifests deployer, the service load balancer and CoreDNS's node hosts.
// The last two read the cluster through one informer factory, which goes
// before them so its caches are filled when they start.
func packagedComponents(cfg Config, admin *rest.Config) ([]component.Component, error) {
	client, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	factory := informers.New(client)
	var controllers []component.Component
	if !cfg.disabled(ServiceLB) {
		controllers = append(controllers, servicelb.New(client, factory.Shared(), servicelb.WithReservedPorts(reservedPorts(cfg)...)))
	}
	if !cfg.disabled(manifests.CoreDNS) {
		coredns := factory.Object(nodehosts.Namespace, nodehosts.ConfigMap)
		controllers = append(controllers, nodehosts.New(client, factory.Shared().Core().V1().Nodes(), coredns.Core().V1().ConfigMaps()))
	}
	parts := []component.Component{deploy.New(deploy.Options{Dir: cfg.manifestsDir(), Config: admin})}
	if len(controllers) > 0 {
		parts = append(parts, factory)
	}
	return append(parts, controllers...), nil
}
