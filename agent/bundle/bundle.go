package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/residency"
)

// Unpack extracts the embedded runtime archive to <root>/<sha256 of
// archive>/bin once and returns that bin dir; root is the layout's
// BundleRoot. Callers hold the data-dir lock: two concurrent calls could
// replace each other's freshly extracted directory.
func Unpack(root string) (string, error) {
	// Read once per start (hash, maybe extraction): not worth keeping
	// resident while the node idles.
	defer residency.Release(archive)
	return unpack(archive, archiveHash(), root)
}

// archiveHash is the embedded archive's sha256, computed once: BinDir
// and Unpack both need it.
var archiveHash = sync.OnceValue(func() string { return hashOf(archive) })

func hashOf(archive []byte) string {
	sum := sha256.Sum256(archive)
	return hex.EncodeToString(sum[:])
}

// BinDir is where Unpack puts the embedded runtime under root, without
// unpacking anything.
func BinDir(root string) string {
	return filepath.Join(root, archiveHash(), binDir)
}

// NetfilterBinDir is where Unpack puts the bundle's iptables, ip6tables and
// nft under root, for hosts without their own.
func NetfilterBinDir(root string) string {
	return filepath.Join(root, archiveHash(), filepath.FromSlash(netfilterBinDir))
}

func unpack(archive []byte, hash, root string) (string, error) {
	dir := filepath.Join(root, hash)
	if err := ensure(archive, root, dir); err != nil {
		return "", err
	}
	markUsed(dir)
	removeOld(root, hash)
	return filepath.Join(dir, binDir), nil
}

// ensure leaves a verified copy of archive in dir, extracting it when dir is
// missing or damaged.
func ensure(archive []byte, root, dir string) error {
	_, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		klog.Infof("unpacking runtime bundle to %s", dir)
	case err != nil:
		return fmt.Errorf("runtime bundle %s: %w", dir, err)
	default:
		verr := verify(dir)
		if verr == nil {
			return nil
		}
		klog.Infof("unpacking runtime bundle to %s, replacing a damaged copy: %v", dir, verr)
	}
	return install(archive, root, dir)
}

// install extracts archive next to dir and renames it into place, so a
// crash never leaves a half-written dir under the final name.
func install(archive []byte, root, dir string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", root, err)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+filepath.Base(dir)+"-")
	if err != nil {
		return fmt.Errorf("creating temporary dir in %s: %w", root, err)
	}
	defer os.RemoveAll(tmp) // no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := extract(archive, tmp); err != nil {
		return fmt.Errorf("extracting runtime bundle to %s: %w", tmp, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing damaged runtime bundle %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("moving runtime bundle into place: %w", err)
	}
	return syncFS(root) // the rename itself
}

// markUsed sets dir's mtime to now, which removeOld reads as "last used".
func markUsed(dir string) {
	now := time.Now()
	if err := os.Chtimes(dir, now, now); err != nil {
		klog.Warningf("runtime bundle %s: recording last use: %v", dir, err)
	}
}

// removeOld deletes the bundles of other kedge versions except the most
// recently used one: containerd shims started by the previous version keep
// running across an upgrade and still exec runc from its bin dir (k3s keeps
// a "previous" data dir for the same reason). Only 64-hex dirs are touched,
// so nothing else that lives in data/ is ever removed.
func removeOld(root, current string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		klog.Warningf("listing old runtime bundles in %s: %v", root, err)
		return
	}
	type old struct {
		path string
		used time.Time
	}
	var olds []old
	for _, e := range entries {
		if !e.IsDir() || e.Name() == current || !isHash(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		olds = append(olds, old{filepath.Join(root, e.Name()), info.ModTime()})
	}
	slices.SortFunc(olds, func(a, b old) int { return b.used.Compare(a.used) })
	for i, o := range olds {
		if i == 0 {
			continue // the previous version's bundle
		}
		klog.Infof("removing old runtime bundle %s", o.path)
		if err := os.RemoveAll(o.path); err != nil {
			klog.Warningf("removing old runtime bundle: %v", err)
		}
	}
}

// isHash reports whether name looks like a dir unpack made: lowercase hex
// sha256.
func isHash(name string) bool {
	if len(name) != 2*sha256.Size {
		return false
	}
	for _, c := range name {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Prepend returns a PATH value with binDir first and every entry only once,
// so the bundled binaries win over any host copies.
func Prepend(path, binDir string) string {
	out := []string{binDir}
	seen := map[string]bool{filepath.Clean(binDir): true}
	for _, p := range filepath.SplitList(path) {
		key := filepath.Clean(p) // "" and "." both mean the current dir
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	return strings.Join(out, string(os.PathListSeparator))
}
