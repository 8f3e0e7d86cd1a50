package containerd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/dtype"
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
	switch ok, err := dtype.Supported(probe); {
	case err != nil:
		return err
	case !ok:
		return errors.New("the filesystem does not record d_type (e.g. XFS with ftype=0)")
	}
	return tryOverlayMount(probe)
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
