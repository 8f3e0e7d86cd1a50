package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"
)

const (
	// fieldManager owns the fields kedge applies, as in server/rbac.
	fieldManager = "kedge"
	// crdTimeout bounds the wait for new CRDs; their custom resources
	// fail until then and are retried on the next resync.
	crdTimeout = 30 * time.Second
	// maxMessage keeps an Event's message within what the API stores.
	maxMessage = 1024
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// clusterAPI is what the controller needs from the apiserver, small enough
// to fake.
type clusterAPI interface {
	// Apply server-side applies obj and returns where it went.
	Apply(ctx context.Context, obj *unstructured.Unstructured) (objectRef, error)
	// Delete deletes an object; one already gone is no error.
	Delete(ctx context.Context, ref objectRef) error
	// WaitCRDs waits for the named CRDs to be Established, then makes
	// their kinds known to later Applies.
	WaitCRDs(ctx context.Context, names []string) error
	// Records lists every stored record.
	Records(ctx context.Context) ([]record, error)
	// SaveRecord creates or replaces the record of r.File.
	SaveRecord(ctx context.Context, r record) error
	// DeleteRecord deletes the record of a file; one already gone is no
	// error.
	DeleteRecord(ctx context.Context, file string) error
	// Event records an Event about a file in recordNamespace.
	Event(ctx context.Context, file, eventType, reason, message string) error
}

// kubeCluster is clusterAPI against an apiserver.
type kubeCluster struct {
	dynamic dynamic.Interface
	core    kubernetes.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
}

// newKubeCluster builds clients without contacting the apiserver.
func newKubeCluster(config *rest.Config) (*kubeCluster, error) {
	config = rest.CopyConfig(config)
	// A first pass applies every bundled object; the default 5 QPS would
	// make that take many seconds.
	config.QPS, config.Burst = 50, 100
	config.UserAgent = "kedge-deploy"
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("creating dynamic client: %w", err)
	}
	core, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("creating discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return &kubeCluster{dynamic: dyn, core: core, mapper: mapper}, nil
}

// mapping finds the resource of a kind, reading discovery again once when
// the kind is unknown, since a CRD may have arrived since the last read.
func (k *kubeCluster) mapping(gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	m, err := k.mapper.RESTMapping(gk, version)
	if meta.IsNoMatchError(err) {
		k.mapper.Reset()
		m, err = k.mapper.RESTMapping(gk, version)
	}
	return m, err
}

// resource returns the client for m, in namespace for namespaced kinds.
func (k *kubeCluster) resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return k.dynamic.Resource(m.Resource).Namespace(namespace)
	}
	return k.dynamic.Resource(m.Resource)
}

// Apply puts a namespaced object without a namespace in "default", as
// kubectl does, and drops the namespace of a cluster-scoped one.
func (k *kubeCluster) Apply(ctx context.Context, obj *unstructured.Unstructured) (objectRef, error) {
	gvk := obj.GroupVersionKind()
	m, err := k.mapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return objectRef{}, err
	}
	obj = obj.DeepCopy()
	switch {
	case m.Scope.Name() != meta.RESTScopeNameNamespace:
		obj.SetNamespace("")
	case obj.GetNamespace() == "":
		obj.SetNamespace(metav1.NamespaceDefault)
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if _, err := k.resource(m, obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, opts); err != nil {
		return objectRef{}, err
	}
	return objectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}, nil
}

// Delete finds the kind in any served version, since the recorded one may
// be gone after an upgrade; a kind no longer served has no objects left.
func (k *kubeCluster) Delete(ctx context.Context, ref objectRef) error {
	gk := schema.GroupKind{Group: ref.Group, Kind: ref.Kind}
	m, err := k.mapping(gk, ref.Version)
	if meta.IsNoMatchError(err) {
		m, err = k.mapper.RESTMapping(gk)
	}
	if meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return err
	}
	background := metav1.DeletePropagationBackground
	err = k.resource(m, ref.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &background})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// WaitCRDs polls until every CRD reports Established, then resets the
// mapper so their kinds are found.
func (k *kubeCluster) WaitCRDs(ctx context.Context, names []string) error {
	defer k.mapper.Reset()
	pending := append([]string(nil), names...)
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, crdTimeout, true, func(ctx context.Context) (bool, error) {
		pending = k.notEstablished(ctx, pending)
		return len(pending) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRDs %v to be established: %w", pending, err)
	}
	return nil
}

// notEstablished returns the CRDs of names that are not Established yet.
func (k *kubeCluster) notEstablished(ctx context.Context, names []string) []string {
	var out []string
	for _, name := range names {
		crd, err := k.dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil || !established(crd) {
			out = append(out, name)
		}
	}
	return out
}

func established(crd *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		if c["type"] == "Established" && c["status"] == "True" {
			return true
		}
	}
	return false
}

// Records lists the stored records. One that does not decode is left out,
// and its file treated as never applied.
func (k *kubeCluster) Records(ctx context.Context) ([]record, error) {
	list, err := k.core.CoreV1().ConfigMaps(recordNamespace).List(ctx, metav1.ListOptions{LabelSelector: recordLabel + "=true"})
	if err != nil {
		return nil, fmt.Errorf("listing records: %w", err)
	}
	var records []record
	for i := range list.Items {
		r, err := decodeRecord(&list.Items[i])
		if err != nil {
			klog.Errorf("deploy: ignoring %v", err)
			continue
		}
		records = append(records, r)
	}
	return records, nil
}

func (k *kubeCluster) SaveRecord(ctx context.Context, r record) error {
	cm, err := encodeRecord(r)
	if err != nil {
		return err
	}
	ac := corev1ac.ConfigMap(cm.Name, cm.Namespace).WithLabels(cm.Labels).WithData(cm.Data)
	_, err = k.core.CoreV1().ConfigMaps(cm.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("saving record of %s: %w", r.File, err)
	}
	return nil
}

func (k *kubeCluster) DeleteRecord(ctx context.Context, file string) error {
	err := k.core.CoreV1().ConfigMaps(recordNamespace).Delete(ctx, recordName(file), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting record of %s: %w", file, err)
	}
	return nil
}

// Event is about the file's record, which may not exist yet.
func (k *kubeCluster) Event(ctx context.Context, file, eventType, reason, message string) error {
	if len(message) > maxMessage {
		message = strings.ToValidUTF8(message[:maxMessage-3], "") + "..."
	}
	now := metav1.Now()
	name := recordName(file)
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", name, now.UnixNano()), Namespace: recordNamespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "v1", Kind: "ConfigMap", Namespace: recordNamespace, Name: name,
		},
		Type: eventType, Reason: reason, Message: message,
		Source:         corev1.EventSource{Component: "kedge-deploy"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := k.core.CoreV1().Events(recordNamespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("recording event %s for %s: %w", reason, file, err)
	}
	return nil
}
