package nodehosts

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
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

// Controller rewrites NodeHosts when nodes or the ConfigMap change.
type Controller struct {
	client  kubernetes.Interface
	nodes   informers.SharedInformerFactory
	configs informers.SharedInformerFactory
	kick    chan struct{}
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

// New returns a controller writing with client.
func New(client kubernetes.Interface) *Controller {
	return &Controller{
		client: client,
		nodes:  informers.NewSharedInformerFactory(client, 0),
		configs: informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(Namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", ConfigMap).String()
			})),
		kick: make(chan struct{}, 1),
	}
}

// Name implements component.Component.
func (c *Controller) Name() string { return "nodehosts" }

// Start watches nodes and the ConfigMap and returns once both are cached.
func (c *Controller) Start(ctx context.Context) error {
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.poke() },
		UpdateFunc: func(any, any) { c.poke() },
		DeleteFunc: func(any) { c.poke() },
	}
	if _, err := c.nodes.Core().V1().Nodes().Informer().AddEventHandler(handler); err != nil {
		return err
	}
	if _, err := c.configs.Core().V1().ConfigMaps().Informer().AddEventHandler(handler); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.nodes.Start(runCtx.Done())
	c.configs.Start(runCtx.Done())
	for _, f := range []informers.SharedInformerFactory{c.nodes, c.configs} {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				cancel()
				return fmt.Errorf("caching %v: %w", typ, ctx.Err())
			}
		}
	}
	c.done.Add(1)
	go c.loop(runCtx)
	return nil
}

func (c *Controller) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// loop syncs after every change, and again later while a sync fails.
func (c *Controller) loop(ctx context.Context) {
	defer c.done.Done()
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
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
	nodes, err := c.nodes.Core().V1().Nodes().Lister().List(labels.Everything())
	if err != nil {
		return err
	}
	want := Hosts(nodes)
	cm, err := c.configs.Core().V1().ConfigMaps().Lister().ConfigMaps(Namespace).Get(ConfigMap)
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

// Ready implements component.Component.
func (c *Controller) Ready(context.Context) error { return nil }

// Stop ends the watches and the sync loop.
func (c *Controller) Stop(context.Context) error {
	if c.cancel != nil {
		c.cancel()
		c.nodes.Shutdown()
		c.configs.Shutdown()
		c.done.Wait()
	}
	return nil
}
