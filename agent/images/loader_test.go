package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCtr writes a ctr stand-in that keeps what it was fed in <dir>/stdin
// and its arguments in <dir>/args, and returns its path.
func fakeCtr(t *testing.T) (ctr, dir string) {
	t.Helper()
	dir = t.TempDir()
	ctr = filepath.Join(dir, "ctr")
	script := "#!/bin/sh\ncat >\"$(dirname \"$0\")/stdin\"\necho \"$@\" >>\"$(dirname \"$0\")/args\"\n"
	if err := os.WriteFile(ctr, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return ctr, dir
}

func newTestImporter(t *testing.T, ctr string) *Importer {
	t.Helper()
	return &Importer{Ctr: ctr, Socket: "/nonexistent.sock", StateFile: filepath.Join(t.TempDir(), "imported.json")}
}

// A bad archive in the images dir is logged; only the pause image, which
// every pod needs, stops the node.
func TestLoaderStart(t *testing.T) {
	images := t.TempDir()
	writeFile(t, filepath.Join(images, "broken.tar.gz"), []byte("not gzip"))
	ctr, dir := fakeCtr(t)
	l := NewLoader(newTestImporter(t, ctr), images)
	if err := l.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "args")); !strings.Contains(string(got), "import") {
		t.Errorf("ctr runs: %q, want the pause image's import", got)
	}
	l = NewLoader(newTestImporter(t, "/bin/false"), images)
	if err := l.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "pause") {
		t.Errorf("Start with a failing ctr: %v, want the pause import error", err)
	}
}
