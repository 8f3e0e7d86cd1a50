package servicelb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// EventSource is the component name on the Events the controller records.
const EventSource = "kedge-servicelb"

// Controller keeps the load balancer status of LoadBalancer Services. It
// starts once; a stopped Controller is not restarted.
type Controller struct {
	client   kubernetes.Interface
	reserved []Port

	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	events   record.EventBroadcaster
	recorder record.EventRecorder

	// tracked holds the Services of ours seen by sync. One worker runs
	// sync, so it needs no lock.
	tracked map[string]tracked

	cancel  context.CancelFunc
	workers sync.WaitGroup
	running atomic.Bool
}

// tracked is what sync remembers of a Service it balanced.
type tracked struct {
	uid      types.UID
	conflict string // message of the last PortConflict Event, empty while the Service owns its ports
}

// Option changes how New builds a Controller.
type Option func(*Controller)

// WithReservedPorts keeps ports that kedge listens on at the node addresses,
// such as the apiserver's, away from Services: kube-proxy would otherwise
// send that traffic to the Service instead.
func WithReservedPorts(ports ...Port) Option {
	return func(c *Controller) { c.reserved = append(c.reserved, ports...) }
}

// New returns a controller working through client, which needs to list and
// watch services, nodes and endpointslices, patch services/status, and
// create and patch events.
func New(client kubernetes.Interface, opts ...Option) *Controller {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(slim))
	services := factory.Core().V1().Services()
	nodes := factory.Core().V1().Nodes()
	slices := factory.Discovery().V1().EndpointSlices()
	events := record.NewBroadcaster()
	c := &Controller{
		client:   client,
		factory:  factory,
		services: services.Lister(),
		nodes:    nodes.Lister(),
		slices:   slices.Lister(),
		synced:   []cache.InformerSynced{services.Informer().HasSynced, nodes.Informer().HasSynced, slices.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "servicelb"}),
		events:   events,
		recorder: events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: EventSource}),
		tracked:  make(map[string]tracked),
	}
	for _, opt := range opts {
		opt(c)
	}
	c.watch(services.Informer(), nodes.Informer(), slices.Informer())
	return c
}

// slim drops what the caches would hold most of and sync never reads:
// managed fields, and the image lists of nodes.
func slim(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	if n, ok := obj.(*corev1.Node); ok {
		n.Status.Images = nil
	}
	return obj, nil
}

// Name implements component.Component.
func (c *Controller) Name() string { return "servicelb" }

// Start starts the informers and the worker and returns once the caches
// hold the cluster's Services, Nodes and EndpointSlices, or ctx ends first.
func (c *Controller) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	c.factory.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		c.shutdown()
		return fmt.Errorf("waiting for the service, node and endpointslice caches: %w", ctx.Err())
	}
	c.workers.Go(func() { c.work(runCtx) })
	c.running.Store(true)
	return nil
}

// Ready implements component.Component.
func (c *Controller) Ready(context.Context) error {
	if !c.running.Load() {
		return errors.New("not running")
	}
	return nil
}

// Stop ends the worker and the informers and waits for them, at most
// until ctx ends.
func (c *Controller) Stop(ctx context.Context) error {
	if c.cancel == nil || !c.running.Swap(false) {
		return nil
	}
	done := make(chan struct{})
	go func() {
		c.shutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the servicelb worker: %w", ctx.Err())
	}
}

func (c *Controller) shutdown() {
	c.cancel()
	c.queue.ShutDown()
	c.factory.Shutdown()
	c.workers.Wait()
	c.events.Shutdown()
}

// work runs sync for queued Services until the queue shuts down. Failed
// keys come back with the queue's backoff.
func (c *Controller) work(ctx context.Context) {
	for ctx.Err() == nil {
		key, quit := c.queue.Get()
		if quit {
			return
		}
		if err := c.sync(ctx, key); err != nil {
			klog.Warningf("servicelb: %v (retrying)", err)
			c.queue.AddRateLimited(key)
		} else {
			c.queue.Forget(key)
		}
		c.queue.Done(key)
	}
}
