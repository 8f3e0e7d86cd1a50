package containerd

import (
	"os"
	"testing"
)

func TestChooseSnapshotterOnThisHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting overlay needs root")
	}
	// /tmp may be tmpfs or overlay itself; either way the answer must be one
	// of the two, and the probe must leave nothing behind.
	dir := t.TempDir()
	got := ChooseSnapshotter(dir)
	if got != "overlayfs" && got != "native" {
		t.Fatalf("got %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("probe left %v behind", entries)
	}
}
