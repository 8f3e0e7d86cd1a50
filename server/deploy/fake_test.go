package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fakeCluster is a small apiserver: it knows a few kinds, learns the kinds
// of CRDs once they were waited for, and needs a namespace to exist.
type fakeCluster struct {
	mu          sync.Mutex
	objects     map[objectKey]objectRef
	kinds       map[string]bool   // served kinds
	pendingCRDs map[string]string // CRD name → kind, until waited for
	records     map[string]record
	events      []fakeEvent
	calls       []string
	rejectApply map[string]error // by object name
	failDelete  map[string]error // by object name
	failRecords error
}

type fakeEvent struct{ file, eventType, reason, message string }

var clusterScoped = map[string]bool{"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true}

func newFakeCluster() *fakeCluster {
	kinds := map[string]bool{}
	for _, k := range []string{"Namespace", "CustomResourceDefinition", "ClusterRole", "ConfigMap", "Deployment", "Service"} {
		kinds[k] = true
	}
	return &fakeCluster{
		objects: map[objectKey]objectRef{}, kinds: kinds, pendingCRDs: map[string]string{},
		records: map[string]record{}, rejectApply: map[string]error{}, failDelete: map[string]error{},
	}
}

func (f *fakeCluster) Apply(_ context.Context, obj *unstructured.Unstructured) (objectRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	gvk := obj.GroupVersionKind()
	ref := objectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	f.calls = append(f.calls, "apply "+ref.Kind+" "+ref.Name)
	if !f.kinds[ref.Kind] {
		return objectRef{}, fmt.Errorf("no matches for kind %q in version %q", ref.Kind, obj.GetAPIVersion())
	}
	if err := f.rejectApply[ref.Name]; err != nil {
		return objectRef{}, err
	}
	switch {
	case clusterScoped[ref.Kind]:
		ref.Namespace = ""
	case ref.Namespace == "":
		ref.Namespace = "default"
	}
	if ns := ref.Namespace; ns != "" && ns != "default" && ns != "kube-system" {
		if _, ok := f.objects[objectKey{"", "Namespace", "", ns}]; !ok {
			return objectRef{}, fmt.Errorf("namespaces %q not found", ns)
		}
	}
	if ref.Kind == "CustomResourceDefinition" {
		kind, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "kind")
		f.pendingCRDs[ref.Name] = kind
	}
	f.objects[ref.key()] = ref
	return ref, nil
}

func (f *fakeCluster) Delete(_ context.Context, ref objectRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "delete "+ref.Kind+" "+ref.Name)
	if err := f.failDelete[ref.Name]; err != nil {
		return err
	}
	delete(f.objects, ref.key())
	return nil
}

func (f *fakeCluster) WaitCRDs(_ context.Context, names []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("wait %v", names))
	for _, name := range names {
		f.kinds[f.pendingCRDs[name]] = true
	}
	return nil
}

func (f *fakeCluster) Records(context.Context) ([]record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRecords != nil {
		return nil, f.failRecords
	}
	var out []record
	for _, r := range f.records {
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeCluster) SaveRecord(_ context.Context, r record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records[r.File] = r
	return nil
}

func (f *fakeCluster) DeleteRecord(_ context.Context, file string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.records, file)
	return nil
}

func (f *fakeCluster) Event(_ context.Context, file, eventType, reason, message string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fakeEvent{file, eventType, reason, message})
	return nil
}

// has reports whether the object kind/namespace/name exists ("" group).
func (f *fakeCluster) has(kind, namespace, name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.objects {
		if k.kind == kind && k.namespace == namespace && k.name == name {
			return true
		}
	}
	return false
}

// takeEvents returns the events since the last call.
func (f *fakeCluster) takeEvents() []fakeEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.events
	f.events = nil
	return out
}

func (f *fakeCluster) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

var errRejected = errors.New("admission webhook denied the request")

// testController returns a controller over a fresh directory and fake.
func testController(t *testing.T) (*Controller, *fakeCluster, string) {
	t.Helper()
	dir := t.TempDir()
	fake := newFakeCluster()
	return New(Options{Dir: dir, cluster: fake}), fake, dir
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func mustSync(t *testing.T, c *Controller) {
	t.Helper()
	if err := c.sync(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
}
