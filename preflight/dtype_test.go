package preflight

import (
	"os"
	"path/filepath"
	"testing"
)

// XFS made with ftype=0 reports DT_UNKNOWN for every entry.
func TestDataDirWithoutDType(t *testing.T) {
	s := healthy(t)
	parent := t.TempDir()
	s.DataDir = filepath.Join(parent, "lib/kedge") // not there yet
	var probed string
	s.HasDType = func(dir string) (bool, error) { probed = dir; return false, nil }
	out, err := run(t, s)
	if err != nil {
		t.Errorf("Run failed without d_type, which only slows containerd down: %v", err)
	}
	if probed != parent {
		t.Errorf("probed %q, want the nearest existing parent %q", probed, parent)
	}
	wantLine(t, out, "  warn  d_type: the filesystem of "+parent+" does not record file types in directory entries (XFS made without ftype=1?)"+
		" — overlayfs corrupts images there, so containerd falls back to the slower native snapshotter; put --data-dir "+s.DataDir+" on another filesystem")
}

func TestExistingParent(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := existingParent(filepath.Join(dir, "a/b")); got != dir || err != nil {
		t.Errorf("got %q, %v; want %q", got, err, dir)
	}
	if _, err := existingParent(filepath.Join(file, "x")); err == nil {
		t.Error("a path below a file has no directory to probe, want an error")
	}
}
