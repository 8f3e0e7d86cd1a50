package teardown

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kedge-io/kedge/datadir"
)

// mount is one line of /proc/self/mountinfo, as far as unmounting needs.
type mount struct {
	id    int
	point string
}

// unmountAll detaches everything the node mounted: pod volumes below the
// kubelet dir, snapshots and rootfs below containerd's root, and the pod
// network namespaces below the run dir, where kedge's containerd keeps
// them (netns_mounts_under_state_dir), so /run/netns, which other tools
// share, is left alone.
func unmountAll(l datadir.Layout, log logger) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("reading mounts: %w", err)
	}
	defer f.Close()
	mounts, err := parseMountinfo(f)
	if err != nil {
		return err
	}
	under := underAny(l.RunDir, l.KubeletDir(), l.ContainerdRoot())
	picked := selectMounts(mounts, under)
	var errs []error
	for _, m := range picked {
		errs = append(errs, unmount(m.point, log))
	}
	return errors.Join(errs...)
}

// unmount detaches one mount point. Lazily, because a dead container's
// mounts may still be busy for a moment; the kernel frees them once idle.
func unmount(point string, log logger) error {
	err := unix.Unmount(point, unix.MNT_DETACH)
	switch {
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
		return nil // went with a parent or a peer mount already
	case err != nil:
		return fmt.Errorf("unmounting %s: %w", point, err)
	}
	log.printf("unmounted %s", point)
	return nil
}

// parseMountinfo reads the mount ID and mount point of every line (see
// proc(5)): "36 35 98:0 /root /mount/point options... - type source opts".
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		id, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %q: mount ID: %w", sc.Text(), err)
		}
		out = append(out, mount{id: id, point: unescape(fields[4])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return out, nil
}

// unescape undoes the kernel's octal escapes (\040 for a space, \011,
// \012, \134) in mountinfo paths.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			n, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	return len(s) == 3 && strings.Trim(s, "01234567") == "" && s[0] <= '3'
}

// underAny matches paths strictly below one of roots. A root itself is not
// matched: it may be a disk the operator mounted there for kedge.
func underAny(roots ...string) func(string) bool {
	return func(p string) bool {
		return slices.ContainsFunc(roots, func(r string) bool { return isUnder(p, r) })
	}
}

// selectMounts returns the mounts whose point matches, deepest first so
// each is unmounted before the one it sits on; mounts stacked on one point
// go newest (highest ID) first.
func selectMounts(mounts []mount, match func(string) bool) []mount {
	var out []mount
	for _, m := range mounts {
		if match(m.point) {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b mount) int {
		if d := depth(b.point) - depth(a.point); d != 0 {
			return d
		}
		return b.id - a.id
	})
	return out
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }
