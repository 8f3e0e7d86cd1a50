package servicelb

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// ReasonPortConflict is the reason of the Warning Event on a Service that
// stays pending because another Service, or kedge, holds one of its ports.
const ReasonPortConflict = "PortConflict"

// fieldManager names the controller in the Services' managedFields.
const fieldManager = "kedge-servicelb"

// sync brings one Service's load balancer status to what the caches say.
func (c *Controller) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("parsing key %q: %w", key, err)
	}
	svc, err := c.services.Services(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		delete(c.tracked, key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading Service %s from the cache: %w", key, err)
	}
	if !ours(svc) {
		return c.release(ctx, svc)
	}
	want, err := c.desired(svc)
	if err != nil {
		return err
	}
	return c.setIngress(ctx, svc, want)
}

// release clears the addresses of a Service that stopped being ours, when
// this process balanced it: a Service with a loadBalancerClass belongs to
// another implementation, which may already have written its own.
func (c *Controller) release(ctx context.Context, svc *corev1.Service) error {
	key := keyOf(svc)
	if t, ok := c.tracked[key]; !ok || t.uid != svc.UID {
		return nil
	}
	if err := c.setIngress(ctx, svc, nil); err != nil {
		return err
	}
	delete(c.tracked, key)
	return nil
}

// desired is the ingress of a Service of ours: none while it loses a port
// conflict, else its nodes' addresses.
func (c *Controller) desired(svc *corev1.Service) ([]corev1.LoadBalancerIngress, error) {
	all, err := c.services.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing cached Services: %w", err)
	}
	var balanced []*corev1.Service
	for _, s := range all {
		if ours(s) {
			balanced = append(balanced, s)
		}
	}
	if lost, ok := assignPorts(balanced, c.reserved)[keyOf(svc)]; ok {
		c.warnConflict(svc, lost)
		return nil, nil
	}
	c.tracked[keyOf(svc)] = tracked{uid: svc.UID}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing cached Nodes: %w", err)
	}
	var endpoints []*discoveryv1.EndpointSlice
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		selector := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name})
		if endpoints, err = c.slices.EndpointSlices(svc.Namespace).List(selector); err != nil {
			return nil, fmt.Errorf("listing cached EndpointSlices of %s: %w", keyOf(svc), err)
		}
	}
	return desiredIngress(svc, nodes, endpoints), nil
}

// warnConflict records an Event once per Service and conflict: syncs repeat
// on every node or Service change, and each Event is a write.
func (c *Controller) warnConflict(svc *corev1.Service, lost conflict) {
	msg := lost.message()
	key := keyOf(svc)
	if t := c.tracked[key]; t.uid == svc.UID && t.conflict == msg {
		return
	}
	c.tracked[key] = tracked{uid: svc.UID, conflict: msg}
	klog.Infof("servicelb: Service %s stays pending: %s", key, msg)
	c.recorder.Event(svc, corev1.EventTypeWarning, ReasonPortConflict, msg)
}

// setIngress patches the status only when it differs, so an idle cluster
// writes nothing. A merge patch replaces the whole list and leaves the
// rest of the Service alone.
func (c *Controller) setIngress(ctx context.Context, svc *corev1.Service, want []corev1.LoadBalancerIngress) error {
	if len(want) == 0 {
		want = nil // JSON null removes the field
	}
	if equality.Semantic.DeepEqual(svc.Status.LoadBalancer.Ingress, want) {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"loadBalancer": map[string]any{"ingress": want}}})
	if err != nil {
		return fmt.Errorf("encoding the status of %s: %w", keyOf(svc), err)
	}
	_, err = c.client.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: fieldManager}, "status")
	if err != nil {
		return fmt.Errorf("updating the load balancer status of %s: %w", keyOf(svc), err)
	}
	klog.Infof("servicelb: Service %s load balancer addresses: %v", keyOf(svc), ips(want))
	return nil
}

func ips(ingress []corev1.LoadBalancerIngress) []string {
	out := make([]string, 0, len(ingress))
	for _, in := range ingress {
		out = append(out, in.IP)
	}
	return out
}
