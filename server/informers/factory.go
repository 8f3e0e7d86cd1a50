package informers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	clientinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/kedge-io/kedge/component"
)

// Factory is the component that runs the shared informers. Controllers take
// their informers from it when they are built; Start then starts them all
// at once and returns when every cache holds a full list. It goes before
// the controllers in the start order, so it stops after them.
type Factory struct {
	client kubernetes.Interface
	shared clientinformers.SharedInformerFactory
	// objects cache single objects; see Object.
	objects []clientinformers.SharedInformerFactory

	run    context.Context // ends with Stop
	cancel context.CancelFunc
}

// New returns a factory listing and watching through client.
func New(client kubernetes.Interface) *Factory {
	return &Factory{
		client: client,
		shared: clientinformers.NewSharedInformerFactoryWithOptions(client, 0, clientinformers.WithTransform(slim)),
	}
}

// Shared is the cluster-wide factory: one informer per kind, whoever asks.
func (f *Factory) Shared() clientinformers.SharedInformerFactory { return f.shared }

// Object returns a factory whose informers cache only the objects called
// name in namespace, for a controller that reads one object of a kind that
// would be large to cache whole (ConfigMaps). It is started and stopped
// with the shared one, so call it before Start.
func (f *Factory) Object(namespace, name string) clientinformers.SharedInformerFactory {
	byName := func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
	factory := clientinformers.NewSharedInformerFactoryWithOptions(f.client, 0, clientinformers.WithNamespace(namespace),
		clientinformers.WithTweakListOptions(byName), clientinformers.WithTransform(slim))
	f.objects = append(f.objects, factory)
	return factory
}

// slim drops what the caches would hold most of and no controller here
// reads: every object's managed fields and kubectl's last-applied copy of
// it, and the image lists of Nodes (up to 50 per node, with digests).
// servicelb reads Services' spec, status and creation time, Nodes' labels,
// conditions and addresses, and EndpointSlices' endpoints; nodehosts reads
// Nodes' addresses and one ConfigMap's data.
func slim(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		delete(m.GetAnnotations(), corev1.LastAppliedConfigAnnotation)
	}
	if n, ok := obj.(*corev1.Node); ok {
		n.Status.Images = nil
	}
	return obj, nil
}

func (f *Factory) all() []clientinformers.SharedInformerFactory {
	return append([]clientinformers.SharedInformerFactory{f.shared}, f.objects...)
}

// Name implements component.Component.
func (f *Factory) Name() string { return "informers" }

// Start starts every informer asked for so far and returns once each cache
// holds a full list, or ctx ends first.
func (f *Factory) Start(ctx context.Context) error {
	f.run, f.cancel = context.WithCancel(context.Background())
	for _, factory := range f.all() {
		factory.StartWithContext(f.run)
	}
	if err := f.synced(ctx); err != nil {
		f.shutdown()
		return fmt.Errorf("%w: %w", err, ctx.Err())
	}
	return nil
}

// Ready reports whether the informers run and every cache was filled. A
// filled cache stays so: the informers relist by themselves after errors.
func (f *Factory) Ready(context.Context) error {
	if f.run == nil || f.run.Err() != nil {
		return errors.New("not running")
	}
	now, cancel := context.WithCancel(context.Background())
	cancel() // an ended context makes the check look without waiting
	return f.synced(now)
}

// synced waits for the started informers' caches until ctx ends and names
// the ones still without a full list.
func (f *Factory) synced(ctx context.Context) error {
	var pending []string
	for _, factory := range f.all() {
		for typ, ok := range factory.WaitForCacheSyncWithContext(ctx).Synced {
			if !ok {
				pending = append(pending, typ.String())
			}
		}
	}
	if len(pending) > 0 {
		slices.Sort(pending)
		return fmt.Errorf("caches not synced: %s", strings.Join(pending, ", "))
	}
	return nil
}

// Stop ends the informers and waits for their goroutines, at most until
// ctx ends.
func (f *Factory) Stop(ctx context.Context) error {
	if f.cancel == nil {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(f.shutdown)
	return component.WaitGroup(ctx, &wg, "the informers")
}

func (f *Factory) shutdown() {
	f.cancel()
	for _, factory := range f.all() {
		factory.Shutdown()
	}
}
