package images

import (
	"bytes"
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

// withEmbedded stands in data for the archive a tagged build embeds. It
// must be smaller than a page: ImportEmbedded gives the whole pages of the
// embedded archive back to the kernel, which zeroes them on the heap.
func withEmbedded(t *testing.T, data []byte) {
	t.Helper()
	if len(data) >= os.Getpagesize() {
		t.Fatalf("test archive of %d bytes: keep it below a page", len(data))
	}
	saved := embedded
	embedded = data
	t.Cleanup(func() { embedded = saved })
}

func newTestImporter(t *testing.T, ctr string) *Importer {
	t.Helper()
	return &Importer{Ctr: ctr, Socket: "/nonexistent.sock", StateFile: filepath.Join(t.TempDir(), "imported.json")}
}

func TestImportEmbeddedFeedsTheTarToCtrOnce(t *testing.T) {
	archive := []byte("a docker archive, as far as this test goes")
	withEmbedded(t, zstdBytes(t, archive))
	ctr, dir := fakeCtr(t)
	im := newTestImporter(t, ctr)
	if err := im.ImportEmbedded(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "stdin"))
	if err != nil || !bytes.Equal(got, archive) {
		t.Fatalf("ctr read %q (%v), want the decompressed archive", got, err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if !strings.Contains(string(args), "--namespace k8s.io images import -") {
		t.Errorf("ctr args = %q", args)
	}
	state, _ := os.ReadFile(im.StateFile)
	if !strings.Contains(string(state), "built-in system images") {
		t.Errorf("import record = %s", state)
	}
	// Skipped by digest from now on: a ctr that fails is never run.
	im.Ctr = "/bin/false"
	if err := im.ImportEmbedded(context.Background()); err != nil {
		t.Errorf("second import: %v", err)
	}
}

func TestImportEmbeddedWithoutImages(t *testing.T) {
	withEmbedded(t, nil)
	im := newTestImporter(t, "/bin/false")
	if err := im.ImportEmbedded(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(im.StateFile); !os.IsNotExist(err) {
		t.Errorf("nothing imported, yet the record was written (%v)", err)
	}
}

func TestImportEmbeddedReportsABadArchive(t *testing.T) {
	withEmbedded(t, []byte("not zstd at all"))
	ctr, _ := fakeCtr(t)
	im := newTestImporter(t, ctr)
	err := im.ImportEmbedded(context.Background())
	if err == nil || !strings.Contains(err.Error(), "built-in system images") {
		t.Fatalf("err = %v, want one naming the built-in system images", err)
	}
	// Not recorded: the next start tries again.
	if state, _ := os.ReadFile(im.StateFile); len(state) > 0 {
		t.Errorf("failed import recorded: %s", state)
	}
}

// A bad embedded archive or images dir is logged; only the pause image,
// which every pod needs, stops the node.
func TestLoaderStart(t *testing.T) {
	withEmbedded(t, []byte("not zstd at all"))
	images := t.TempDir()
	writeFile(t, filepath.Join(images, "broken.tar.gz"), []byte("not gzip"))
	ctr, dir := fakeCtr(t)
	l := NewLoader(newTestImporter(t, ctr), images)
	if err := l.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "args")); strings.Count(string(got), "import") < 2 {
		t.Errorf("ctr runs: %q, want the pause image and the embedded archive at least", got)
	}
	l = NewLoader(newTestImporter(t, "/bin/false"), images)
	if err := l.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "pause") {
		t.Errorf("Start with a failing ctr: %v, want the pause import error", err)
	}
}
