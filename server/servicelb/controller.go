package servicelb

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clientinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/server/informers"
)

// EventSource is the component name on the Events the controller records.
const EventSource = "kedge-servicelb"

// Controller keeps the load balancer status of LoadBalancer Services. It
// starts once; a stopped Controller is not restarted. The embedded Runner
// runs the worker and stops it.
type Controller struct {
	component.Runner

	client   kubernetes.Interface
	reserved []Port

	services corelisters.ServiceLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	handlers informers.Handlers
	queue    workqueue.TypedRateLimitingInterface[string]
	events   record.EventBroadcaster
	recorder record.EventRecorder

	// tracked holds the Services of ours seen by sync. One worker runs
	// sync, so it needs no lock.
	tracked map[string]tracked
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

// New returns a controller working through client, which needs to patch
// services/status and create and patch events. It reads Services, Nodes and
// EndpointSlices from factory's informers, which must run before Start; the
// caller starts factory (an informers.Factory does).
func New(client kubernetes.Interface, factory clientinformers.SharedInformerFactory, opts ...Option) *Controller {
	services := factory.Core().V1().Services()
	nodes := factory.Core().V1().Nodes()
	slices := factory.Discovery().V1().EndpointSlices()
	events := record.NewBroadcaster()
	c := &Controller{
		client:   client,
		services: services.Lister(),
		nodes:    nodes.Lister(),
		slices:   slices.Lister(),
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

// Name implements component.Component.
func (c *Controller) Name() string { return "servicelb" }

// Start returns once the handlers have seen the cluster's Services, Nodes
// and EndpointSlices and the worker runs, or ctx ends first.
func (c *Controller) Start(ctx context.Context) error {
	if err := c.handlers.Wait(ctx); err != nil {
		c.queue.ShutDown()
		return fmt.Errorf("waiting for the service, node and endpointslice caches: %w", err)
	}
	c.Go("servicelb", c.run)
	return nil
}

// Ready reports whether the handlers have seen full lists and the worker
// runs.
func (c *Controller) Ready(context.Context) error {
	if err := c.handlers.Synced(); err != nil {
		return err
	}
	return c.Err()
}

// run records Events and works the queue until Stop cancels ctx.
func (c *Controller) run(ctx context.Context) error {
	c.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.events.Shutdown()
	context.AfterFunc(ctx, c.queue.ShutDown) // wakes a worker waiting in Get
	c.work(ctx)
	return nil
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
