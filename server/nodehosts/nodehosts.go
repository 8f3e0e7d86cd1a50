package nodehosts

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/server/informers"
)

// Where CoreDNS reads the hosts file from; see manifests/coredns.yaml.
const (
	Namespace = "kube-system"
	ConfigMap = "coredns"
	Key       = "NodeHosts"
	// FieldManager differs from the deploy controller's, so re-applying
	// the bundled manifest leaves this key alone.
	FieldManager = "kedge-nodehosts"
)

// retryEvery is how soon a failed update is tried again.
const retryEvery = 5 * time.Second

// Controller rewrites NodeHosts when nodes or the ConfigMap change. The
// embedded Runner runs the sync loop and stops it.
type Controller struct {
	component.Runner

	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	configs  corelisters.ConfigMapLister
	handlers informers.Handlers
	kick     chan struct{}
}

// New returns a controller writing with client and reading from shared
// informers, which must run before Start. configMaps need only hold the
// coredns ConfigMap (informers.Factory.Object).
func New(client kubernetes.Interface, nodes coreinformers.NodeInformer, configMaps coreinformers.ConfigMapInformer) *Controller {
	c := &Controller{
		client:  client,
		nodes:   nodes.Lister(),
		configs: configMaps.Lister(),
		kick:    make(chan struct{}, 1),
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.poke() },
		UpdateFunc: func(any, any) { c.poke() },
		DeleteFunc: func(any) { c.poke() },
	}
	c.handlers.Add(nodes.Informer(), handler)
	c.handlers.Add(configMaps.Informer(), handler)
	return c
}

// Name implements component.Component.
func (c *Controller) Name() string { return "nodehosts" }

// Start returns once the handlers have seen the nodes and the ConfigMap and
// the sync loop runs, or ctx ends first.
func (c *Controller) Start(ctx context.Context) error {
	if err := c.handlers.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for the node and ConfigMap caches: %w", err)
	}
	c.Go("nodehosts", c.loop)
	return nil
}

// Ready reports whether the handlers have seen full lists and the sync
// loop runs.
func (c *Controller) Ready(context.Context) error {
	if err := c.handlers.Synced(); err != nil {
		return err
	}
	return c.Err()
}

func (c *Controller) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// loop syncs after every change, and again later while a sync fails.
func (c *Controller) loop(ctx context.Context) error {
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
		case <-retry.C:
		}
		if err := c.sync(ctx); err != nil && ctx.Err() == nil {
			klog.Warningf("updating %s/%s %s: %v (retrying in %s)", Namespace, ConfigMap, Key, err, retryEvery)
			retry.Reset(retryEvery)
		}
	}
}

func (c *Controller) sync(ctx context.Context) error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	want := Hosts(nodes)
	cm, err := c.configs.ConfigMaps(Namespace).Get(ConfigMap)
	if err == nil && cm.Data[Key] == want {
		return nil // nothing to write: idle clusters stay idle
	}
	apply := corev1ac.ConfigMap(ConfigMap, Namespace).WithData(map[string]string{Key: want})
	_, err = c.client.CoreV1().ConfigMaps(Namespace).Apply(ctx, apply, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}

// Hosts is the hosts-file text for nodes: a line "IP name" per internal
// and external address, sorted so the text only changes with the nodes.
func Hosts(nodes []*corev1.Node) string {
	var lines []string
	for _, n := range nodes {
		seen := map[string]bool{}
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
				continue
			}
			if net.ParseIP(a.Address) == nil || seen[a.Address] {
				continue
			}
			seen[a.Address] = true
			lines = append(lines, a.Address+" "+n.Name)
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}
