package containerd

import (
	"encoding/binary"
	"os"
	"testing"
)

func dirent(name string, typ byte) []byte {
	reclen := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint16(b[16:18], uint16(reclen))
	b[18] = typ
	copy(b[19:], name)
	return b
}

func TestDirentsHaveType(t *testing.T) {
	known := append(dirent(".", 4), dirent("f", 8)...)
	if !direntsHaveType(known, "f") {
		t.Fatal("DT_REG entry reported as unknown")
	}
	unknown := append(dirent(".", 0), dirent("f", 0)...)
	if direntsHaveType(unknown, "f") {
		t.Fatal("DT_UNKNOWN entry reported as typed")
	}
	if direntsHaveType(dirent("g", 8), "f") {
		t.Fatal("missing entry reported as typed")
	}
}

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
