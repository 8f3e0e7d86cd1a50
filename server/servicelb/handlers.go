package servicelb

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// watch turns informer events into queued Service keys.
func (c *Controller) watch(services, nodes, endpoints cache.SharedIndexInformer) {
	c.handlers.Add(services, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.serviceChanged(nil, as[*corev1.Service](obj)) },
		UpdateFunc: func(old, obj any) { c.serviceChanged(as[*corev1.Service](old), as[*corev1.Service](obj)) },
		DeleteFunc: func(obj any) { c.serviceChanged(as[*corev1.Service](obj), nil) },
	})
	c.handlers.Add(nodes, cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { c.enqueueOurs() },
		UpdateFunc: func(old, obj any) {
			if nodeChanged(as[*corev1.Node](old), as[*corev1.Node](obj)) {
				c.enqueueOurs()
			}
		},
		DeleteFunc: func(any) { c.enqueueOurs() },
	})
	c.handlers.Add(endpoints, cache.ResourceEventHandlerFuncs{
		AddFunc:    c.endpointsChanged,
		UpdateFunc: func(_, obj any) { c.endpointsChanged(obj) },
		DeleteFunc: c.endpointsChanged,
	})
}

// as unwraps the tombstone a missed delete leaves; it returns nil for any
// other type.
func as[T any](obj any) T {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	v, _ := obj.(T)
	return v
}

// serviceChanged queues the Service itself, and every Service of ours when
// its claim on the node ports changed, since that can decide conflicts
// anywhere down the age order.
func (c *Controller) serviceChanged(old, svc *corev1.Service) {
	for _, s := range []*corev1.Service{old, svc} {
		if s != nil {
			c.queue.Add(keyOf(s))
		}
	}
	if !sameClaim(old, svc) {
		c.enqueueOurs()
	}
}

// sameClaim compares what assignPorts reads; nil is a deleted or new Service.
func sameClaim(a, b *corev1.Service) bool {
	claims := func(s *corev1.Service) bool { return s != nil && ours(s) }
	if claims(a) != claims(b) {
		return false
	}
	if !claims(a) {
		return true
	}
	return a.CreationTimestamp.Equal(&b.CreationTimestamp) && slices.Equal(portsOf(a), portsOf(b))
}

// nodeChanged reports changes to what desiredIngress reads of a node.
func nodeChanged(old, n *corev1.Node) bool {
	if old == nil || n == nil {
		return true
	}
	return eligible(old) != eligible(n) || !slices.Equal(old.Status.Addresses, n.Status.Addresses)
}

func (c *Controller) endpointsChanged(obj any) {
	s := as[*discoveryv1.EndpointSlice](obj)
	if s == nil {
		return
	}
	if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
		c.queue.Add(s.Namespace + "/" + name)
	}
}

func (c *Controller) enqueueOurs() {
	all, err := c.services.List(labels.Everything())
	if err != nil {
		klog.Warningf("servicelb: listing cached Services: %v", err)
		return
	}
	for _, svc := range all {
		if ours(svc) {
			c.queue.Add(keyOf(svc))
		}
	}
}
