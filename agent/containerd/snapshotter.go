package containerd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

// ChooseSnapshotter returns "overlayfs" when dir's filesystem can carry it,
// else "native" with a logged reason. Overlay needs d_type in directory
// entries: XFS formatted with ftype=0 lacks it and overlay then corrupts
// layers silently, so it is checked before trying a real mount.
func ChooseSnapshotter(dir string) string {
	if err := checkOverlay(dir); err != nil {
		klog.Warningf("using the native snapshotter (slower, more disk): overlayfs is unusable under %s: %v", dir, err)
		return "native"
	}
	return "overlayfs"
}

func checkOverlay(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	probe, err := os.MkdirTemp(dir, ".overlay-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(probe)
	if err := checkDType(probe); err != nil {
		return err
	}
	return tryOverlayMount(probe)
}

// checkDType creates a file and reads the raw directory entries back: a
// filesystem without d_type reports DT_UNKNOWN for every entry.
func checkDType(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		return err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		return fmt.Errorf("reading directory entries: %w", err)
	}
	if !direntsHaveType(buf[:n], "f") {
		return errors.New("the filesystem does not record d_type (e.g. XFS with ftype=0)")
	}
	return nil
}

// direntsHaveType walks linux_dirent64 records (ino u64, off u64, reclen
// u16, type u8, name) and reports whether name has a known type.
func direntsHaveType(buf []byte, name string) bool {
	for len(buf) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < 19 || reclen > len(buf) {
			return false
		}
		typ := buf[18]
		entry := buf[19:reclen]
		if i := indexNul(entry); i >= 0 && string(entry[:i]) == name {
			return typ != unix.DT_UNKNOWN
		}
		buf = buf[reclen:]
	}
	return false
}

func indexNul(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func tryOverlayMount(dir string) error {
	dirs := map[string]string{}
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		dirs[d] = filepath.Join(dir, d)
		if err := os.Mkdir(dirs[d], 0o700); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", dirs["lower"], dirs["upper"], dirs["work"])
	if err := unix.Mount("overlay", dirs["merged"], "overlay", 0, opts); err != nil {
		return fmt.Errorf("test mount of overlay: %w", err)
	}
	return unix.Unmount(dirs["merged"], 0)
}
