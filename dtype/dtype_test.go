package dtype

import (
	"encoding/binary"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func dirent(name string, typ byte) []byte {
	reclen := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint16(b[16:18], uint16(reclen))
	b[18] = typ
	copy(b[19:], name)
	return b
}

func TestEntryType(t *testing.T) {
	known := append(dirent(".", unix.DT_DIR), dirent("f", unix.DT_REG)...)
	if typ, ok := entryType(known, "f"); !ok || typ != unix.DT_REG {
		t.Fatalf("DT_REG entry: got %d, %v", typ, ok)
	}
	// XFS made with ftype=0 reports DT_UNKNOWN for every entry.
	unknown := append(dirent(".", unix.DT_UNKNOWN), dirent("f", unix.DT_UNKNOWN)...)
	if typ, ok := entryType(unknown, "f"); !ok || typ != unix.DT_UNKNOWN {
		t.Fatalf("DT_UNKNOWN entry: got %d, %v", typ, ok)
	}
	if _, ok := entryType(dirent("g", unix.DT_REG), "f"); ok {
		t.Fatal("a missing entry was found")
	}
	if _, ok := entryType([]byte{1, 2, 3}, "f"); ok {
		t.Fatal("a truncated record was read")
	}
}

// This machine's temp dir is on a filesystem a test can run on (ext4,
// tmpfs, btrfs, XFS with ftype=1), all of which record d_type.
func TestSupportedOnThisHost(t *testing.T) {
	dir := t.TempDir()
	ok, err := Supported(dir)
	if err != nil || !ok {
		t.Fatalf("Supported(%s) = %v, %v; want true", dir, ok, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %v behind", entries)
	}
}
