//go:build e2e

package tests

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBundledTools runs ctr and crictl from the runtime bundle inside the
// kedge binary, unpacked into a fresh data dir.
func TestBundledTools(t *testing.T) {
	dataDir := t.TempDir()
	env := []string{"KEDGE_DATA_DIR=" + dataDir, "KEDGE_RUN_DIR=" + t.TempDir()}
	out, code := runKedge(t, env, "ctr", "--version")
	if code != 0 {
		t.Fatalf("kedge ctr --version exited %d:\n%s", code, out)
	}
	mustContain(t, "kedge ctr --version", out, "containerd/containerd/v2 v2.")
	out, code = runKedge(t, env, "crictl", "--version")
	if code != 0 {
		t.Fatalf("kedge crictl --version exited %d:\n%s", code, out)
	}
	mustContain(t, "kedge crictl --version", out, "crictl version")
	entries, err := os.ReadDir(filepath.Join(dataDir, "data"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("want one unpacked bundle dir under %s/data, got %v %v", dataDir, entries, err)
	}
}

// TestImagesImportReportsFile checks that a failed import names the archive
// and exits non-zero (no containerd runs here, and the archive is corrupt).
func TestImagesImportReportsFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.tar.gz")
	writeFile(t, bad, "not gzip")
	out, code := runKedge(t, []string{"KEDGE_DATA_DIR=" + dir, "KEDGE_RUN_DIR=" + dir}, "images", "import", bad)
	if code == 0 {
		t.Fatalf("exited 0:\n%s", out)
	}
	mustContain(t, "images import", out, bad, "failed to import")
}
