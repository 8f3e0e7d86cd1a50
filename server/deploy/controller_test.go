package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kedge-io/kedge/component"
)

var _ component.Component = (*Controller)(nil)

// eventually polls cond for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func startController(t *testing.T, opts Options) *Controller {
	t.Helper()
	c := New(opts)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return c
}

func TestControllerNoticesChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server", "manifests")
	fake := newFakeCluster()
	c := startController(t, Options{Dir: dir, cluster: fake, Resync: time.Hour})
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("manifests directory: %v, %v; want it created 0700", info, err)
	}
	if !eventually(5*time.Second, func() bool { return c.Ready(context.Background()) == nil }) {
		t.Fatalf("not ready: %v", c.Ready(context.Background()))
	}

	// Resync is an hour: only the watch can find these within 5 s.
	writeFile(t, dir, "app.yaml", appYAML)
	if !eventually(5*time.Second, func() bool { return fake.has("ConfigMap", "demo", "two") }) {
		t.Fatal("new file not applied within 5 s")
	}
	removeFile(t, dir, "app.yaml")
	if !eventually(5*time.Second, func() bool { return !fake.has("Namespace", "", "demo") }) {
		t.Fatal("removed file's objects not deleted within 5 s")
	}
}

func TestControllerResyncRetriesFailedFiles(t *testing.T) {
	dir := t.TempDir()
	fake := newFakeCluster()
	fake.mu.Lock()
	fake.rejectApply["one"] = errRejected
	fake.mu.Unlock()
	writeFile(t, dir, "app.yaml", appYAML)
	startController(t, Options{Dir: dir, cluster: fake, Resync: 100 * time.Millisecond})
	if !eventually(5*time.Second, func() bool { return fake.has("ConfigMap", "demo", "two") }) {
		t.Fatal("first pass did not run")
	}
	fake.mu.Lock()
	delete(fake.rejectApply, "one")
	fake.mu.Unlock()
	if !eventually(5*time.Second, func() bool { return fake.has("ConfigMap", "demo", "one") }) {
		t.Fatal("failed file not retried on resync")
	}
}

func TestControllerReadyReportsWhyNot(t *testing.T) {
	fake := newFakeCluster()
	fake.failRecords = errors.New("connection refused")
	c := startController(t, Options{Dir: t.TempDir(), cluster: fake})
	if !eventually(5*time.Second, func() bool {
		err := c.Ready(context.Background())
		return err != nil && strings.Contains(err.Error(), "connection refused")
	}) {
		t.Errorf("Ready = %v, want the pass's error", c.Ready(context.Background()))
	}
}

func TestStopWithoutStart(t *testing.T) {
	if err := New(Options{Dir: t.TempDir()}).Stop(context.Background()); err != nil {
		t.Error(err)
	}
}
