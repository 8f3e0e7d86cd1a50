package deploy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const appYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: two
  namespace: demo
`

func TestSyncAppliesAndRecords(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	for _, name := range []string{"one", "two"} {
		if !fake.has("ConfigMap", "demo", name) {
			t.Errorf("ConfigMap demo/%s not applied", name)
		}
	}
	r := fake.records["app.yaml"]
	if len(r.Objects) != 3 || len(r.SHA256) != 64 {
		t.Errorf("record = %+v, want 3 objects and a sha256", r)
	}
	wantEvents(t, fake, fakeEvent{"app.yaml", "Normal", "Applied", "app.yaml: applied 3 objects, pruned 0"})

	fake.takeCalls()
	mustSync(t, c)
	if calls := fake.takeCalls(); slices.ContainsFunc(calls, func(s string) bool { return strings.HasPrefix(s, "apply") }) {
		t.Errorf("unchanged file applied again: %v", calls)
	}
}

func TestSyncPrunesDroppedObjects(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	fake.takeEvents()

	writeFile(t, dir, "app.yaml", strings.Split(appYAML, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two")[0])
	mustSync(t, c)
	if fake.has("ConfigMap", "demo", "two") {
		t.Error("ConfigMap two dropped from the file but not deleted")
	}
	if !fake.has("ConfigMap", "demo", "one") || !fake.has("Namespace", "", "demo") {
		t.Error("objects still in the file were deleted")
	}
	if n := len(fake.records["app.yaml"].Objects); n != 2 {
		t.Errorf("record lists %d objects, want 2", n)
	}
	wantEvents(t, fake, fakeEvent{"app.yaml", "Normal", "Applied", "app.yaml: applied 2 objects, pruned 1"})
}

func TestSyncNewAPIVersionIsNotPruned(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "d.yaml", "apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: web}\n")
	mustSync(t, c)
	writeFile(t, dir, "d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
	mustSync(t, c)
	if calls := fake.takeCalls(); slices.Contains(calls, "delete Deployment web") {
		t.Errorf("object deleted after its apiVersion changed: %v", calls)
	}
	if got := fake.records["d.yaml"].Objects; len(got) != 1 || got[0].Version != "v1" {
		t.Errorf("record = %+v, want the object at v1", got)
	}
}

func TestSyncRemovedFileDeletesObjects(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	fake.takeEvents()
	fake.takeCalls()

	removeFile(t, dir, "app.yaml")
	mustSync(t, c)
	if len(fake.objects) != 0 {
		t.Errorf("objects left after the file was removed: %v", fake.objects)
	}
	if _, ok := fake.records["app.yaml"]; ok {
		t.Error("record of the removed file kept")
	}
	want := []string{"delete ConfigMap one", "delete ConfigMap two", "delete Namespace demo"}
	if calls := fake.takeCalls(); !slices.Equal(calls, want) {
		t.Errorf("calls = %v, want %v (namespace last)", calls, want)
	}
	wantEvents(t, fake, fakeEvent{"app.yaml", "Normal", "Deleted", "app.yaml: file removed, deleted 3 objects"})
}

func TestRestartCleansUpFileRemovedWhileDown(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	writeFile(t, dir, "keep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\n")
	mustSync(t, c)
	removeFile(t, dir, "app.yaml")

	restarted := New(Options{Dir: dir, cluster: fake})
	mustSync(t, restarted)
	if fake.has("ConfigMap", "demo", "one") || fake.has("Namespace", "", "demo") {
		t.Error("objects of a file removed while kedge was down were kept")
	}
	if !fake.has("ConfigMap", "default", "keep") {
		t.Error("objects of a present file were deleted")
	}
}

func TestSkipStopsManaging(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	record := fake.records["app.yaml"]
	fake.takeCalls()

	writeFile(t, dir, "app.yaml.skip", "")
	writeFile(t, dir, "app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n")
	mustSync(t, c)
	removeFile(t, dir, "app.yaml")
	mustSync(t, c)
	if calls := fake.takeCalls(); len(calls) != 0 {
		t.Errorf("skipped file was acted on: %v", calls)
	}
	if !fake.has("ConfigMap", "demo", "two") || !slices.Equal(fake.records["app.yaml"].Objects, record.Objects) {
		t.Error("skipping a file changed its objects or record")
	}

	removeFile(t, dir, "app.yaml.skip")
	mustSync(t, c)
	if fake.has("ConfigMap", "demo", "two") {
		t.Error("objects kept after the marker went and the file is gone")
	}
}

func TestUnskipAppliesAgain(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	writeFile(t, dir, "app.yaml.skip", "")
	mustSync(t, c)
	removeFile(t, dir, "app.yaml.skip")
	fake.takeCalls()
	mustSync(t, c)
	if calls := fake.takeCalls(); !slices.Contains(calls, "apply ConfigMap one") {
		t.Errorf("unchanged file not applied again after its marker went: %v", calls)
	}
}

func TestSyntaxErrorKeepsObjectsAndRecovers(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	fake.takeEvents()

	writeFile(t, dir, "app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\nkind: [oops\n")
	mustSync(t, c)
	mustSync(t, c)
	events := fake.takeEvents()
	if len(events) != 1 || events[0].reason != "ApplyFailed" || events[0].eventType != "Warning" ||
		!strings.HasPrefix(events[0].message, "app.yaml: document 2: ") || !strings.Contains(events[0].message, "line 6") {
		t.Fatalf("events = %+v, want one ApplyFailed naming document 2 and line 6 of the file", events)
	}
	if !fake.has("ConfigMap", "demo", "two") {
		t.Error("a syntax error deleted objects")
	}

	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	wantEvents(t, fake, fakeEvent{"app.yaml", "Normal", "Applied", "app.yaml: applied 3 objects, pruned 0"})
}

func TestBadFileDoesNotStopOthers(t *testing.T) {
	c, fake, dir := testController(t)
	fake.rejectApply["bad"] = errRejected
	writeFile(t, dir, "a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\n")
	writeFile(t, dir, "b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
	writeFile(t, dir, "c.yaml", "apiVersion: v1\nkind: Gadget\nmetadata: {name: g}\n")
	mustSync(t, c)
	mustSync(t, c)
	wantEvents(t, fake,
		fakeEvent{"a.yaml", "Warning", "ApplyFailed", "a.yaml: document 2 (v1 ConfigMap bad): " + errRejected.Error()},
		fakeEvent{"b.yaml", "Normal", "Applied", "b.yaml: applied 1 objects, pruned 0"},
		fakeEvent{"c.yaml", "Warning", "ApplyFailed", `c.yaml: document 1 (v1 Gadget g): no matches for kind "Gadget" in version "v1"`},
	)
	if got := fake.records["a.yaml"].Objects; len(got) != 1 || got[0].Name != "good" {
		t.Errorf("record of a partly applied file = %+v, want the object that applied", got)
	}

	writeFile(t, dir, "a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\n")
	mustSync(t, c)
	if events := fake.takeEvents(); len(events) != 1 || events[0].reason != "ApplyFailed" {
		t.Errorf("changed content failing again: events = %+v, want one ApplyFailed", events)
	}

	delete(fake.rejectApply, "bad")
	mustSync(t, c)
	if fake.has("ConfigMap", "default", "good") {
		t.Error("object of a partly applied file not pruned once the file applied whole")
	}
}

func TestMissingNamespaceRecoversOnResync(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: later}\n")
	mustSync(t, c)
	if events := fake.takeEvents(); len(events) != 1 || !strings.Contains(events[0].message, `namespaces "later" not found`) {
		t.Fatalf("events = %+v, want the missing namespace reported", events)
	}
	writeFile(t, dir, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: later}\n")
	mustSync(t, c)
	if !fake.has("ConfigMap", "later", "cm") {
		t.Error("failed file not retried")
	}
}

func TestCRDsAndNamespacesFirstAcrossFiles(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "a-widgets.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n")
	writeFile(t, dir, "b-namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
	writeFile(t, dir, "c-crd.yaml", `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
`)
	mustSync(t, c)
	want := []string{"apply CustomResourceDefinition widgets.example.com", "wait [widgets.example.com]", "apply Namespace shop", "apply Widget w"}
	if calls := fake.takeCalls(); !slices.Equal(calls, want) {
		t.Errorf("calls = %v, want %v", calls, want)
	}
	if events := fake.takeEvents(); slices.ContainsFunc(events, func(e fakeEvent) bool { return e.eventType == "Warning" }) {
		t.Errorf("events = %+v, want no warning", events)
	}
}

func TestSharedObjectKeptWhileClaimed(t *testing.T) {
	c, fake, dir := testController(t)
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"
	writeFile(t, dir, "a.yaml", ns)
	writeFile(t, dir, "b.yaml", ns)
	mustSync(t, c)
	removeFile(t, dir, "a.yaml")
	mustSync(t, c)
	if !fake.has("Namespace", "", "demo") {
		t.Error("namespace deleted while another file declares it")
	}
	removeFile(t, dir, "b.yaml")
	mustSync(t, c)
	if fake.has("Namespace", "", "demo") {
		t.Error("namespace kept after both files went")
	}
}

func TestObjectMovedToAnotherFileIsKept(t *testing.T) {
	c, fake, dir := testController(t)
	x := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moved}\n"
	y := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stays}\n"
	writeFile(t, dir, "a.yaml", x)
	writeFile(t, dir, "b.yaml", y)
	mustSync(t, c)
	writeFile(t, dir, "a.yaml", "")
	writeFile(t, dir, "b.yaml", y+"---\n"+x)
	mustSync(t, c)
	if !fake.has("ConfigMap", "default", "moved") {
		t.Error("object moved from a.yaml to b.yaml was deleted")
	}
	if got := fake.records["a.yaml"].Objects; len(got) != 0 {
		t.Errorf("a.yaml still records %v", got)
	}
}

func TestFailedDeleteIsRetried(t *testing.T) {
	c, fake, dir := testController(t)
	writeFile(t, dir, "app.yaml", appYAML)
	mustSync(t, c)
	fake.takeEvents()
	fake.failDelete["two"] = errors.New("etcdserver: request timed out")
	removeFile(t, dir, "app.yaml")
	mustSync(t, c)
	mustSync(t, c)
	wantEvents(t, fake, fakeEvent{"app.yaml", "Warning", "DeleteFailed",
		"app.yaml: deleting v1 ConfigMap demo/two: etcdserver: request timed out"})
	if got := fake.records["app.yaml"].Objects; len(got) != 1 || got[0].Name != "two" {
		t.Errorf("record = %+v, want only the object not deleted yet", got)
	}

	delete(fake.failDelete, "two")
	mustSync(t, c)
	if fake.has("ConfigMap", "demo", "two") {
		t.Error("delete not retried")
	}
	if _, ok := fake.records["app.yaml"]; ok {
		t.Error("record kept after every object went")
	}
}

func TestRecordsUnavailableFailsPass(t *testing.T) {
	c, fake, dir := testController(t)
	fake.failRecords = errors.New("connection refused")
	writeFile(t, dir, "app.yaml", appYAML)
	if err := c.sync(t.Context()); err == nil {
		t.Fatal("pass worked without the records")
	}
	if len(fake.objects) != 0 {
		t.Error("applied without knowing what files own")
	}
}

// wantEvents checks the events since the last check, in order.
func wantEvents(t *testing.T, fake *fakeCluster, want ...fakeEvent) {
	t.Helper()
	if got := fake.takeEvents(); !slices.Equal(got, want) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}
}
