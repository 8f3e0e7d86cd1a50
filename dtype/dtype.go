package dtype

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Supported creates a file in a temporary directory below dir and reads
// the raw directory entries back. os.ReadDir cannot tell: it falls back to
// lstat when an entry's type is DT_UNKNOWN, which is all a filesystem
// without d_type reports.
func Supported(dir string) (bool, error) {
	tmp, err := os.MkdirTemp(dir, ".kedge-dtype-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	const name = "probe"
	if err := os.WriteFile(filepath.Join(tmp, name), nil, 0o600); err != nil {
		return false, err
	}
	fd, err := unix.Open(tmp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("opening %s: %w", tmp, err)
	}
	defer unix.Close(fd)
	// ".", ".." and the probe fit in one read of a fresh directory.
	buf := make([]byte, 4096)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		return false, fmt.Errorf("reading the entries of %s: %w", tmp, err)
	}
	typ, found := entryType(buf[:n], name)
	if !found {
		return false, fmt.Errorf("getdents on %s did not return %s", tmp, name)
	}
	return typ != unix.DT_UNKNOWN, nil
}

// entryType walks linux_dirent64 records (ino u64, off s64, reclen u16,
// type u8, NUL-terminated name) for name's d_type.
func entryType(buf []byte, name string) (byte, bool) {
	const nameOff = 19
	for len(buf) > nameOff {
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen <= nameOff || reclen > len(buf) {
			return 0, false
		}
		if unix.ByteSliceToString(buf[nameOff:reclen]) == name {
			return buf[18], true
		}
		buf = buf[reclen:]
	}
	return 0, false
}
