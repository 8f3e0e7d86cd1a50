package teardown

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// hostDirs are where upstream code writes whatever the data dir is.
type hostDirs struct {
	cniCache string // libcni, in containerd's CRI plugin, caches each attachment's result
	logLinks string // the kubelet links every container's log here
}

// upstreamDirs are the fixed paths of libcni and the kubelet.
var upstreamDirs = hostDirs{cniCache: "/var/lib/cni", logLinks: "/var/log/containers"}

// libcni names its cache files "<network>-<sandbox>-<interface>". kedge's
// pod network is cniNetwork (agent/cni); containerd's CRI plugin also
// attaches every sandbox to loopbackNetwork, its own built-in network.
const (
	cniNetwork      = "kedge"
	loopbackNetwork = "cni-loopback"
)

// remove deletes what the node's containers left outside the data
// dir: kedge's entries in libcni's cache and the kubelet's log links that
// point into the node's pod logs. Directories go only once empty, since
// another runtime on the host may use them too.
func (d hostDirs) remove(podLogs string, log logger) error {
	results := filepath.Join(d.cniCache, "results")
	return errors.Join(
		removeMatching(results, kedgeResults(results), log),
		removeEmpty(log, results, d.cniCache),
		removeMatching(d.logLinks, func(_, path string) bool { return linksUnder(path, podLogs) }, log),
		removeEmpty(log, d.logLinks),
	)
}

// kedgeResults matches the cache files of kedge's pod network and the
// loopback files of the same sandboxes; other runtimes' sandboxes have
// loopback files too, so those stay.
func kedgeResults(dir string) func(name, path string) bool {
	sandboxes := map[string]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Name(), cniNetwork+"-"); ok {
			id, _, _ := strings.Cut(rest, "-")
			sandboxes[id] = true
		}
	}
	return func(name, _ string) bool {
		if strings.HasPrefix(name, cniNetwork+"-") {
			return true
		}
		rest, ok := strings.CutPrefix(name, loopbackNetwork+"-")
		id, _, _ := strings.Cut(rest, "-")
		return ok && sandboxes[id]
	}
}

// removeMatching deletes the entries of dir that match.
func removeMatching(dir string, match func(name, path string) bool, log logger) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	var errs []error
	removed := 0
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !match(e.Name(), path) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing %s: %w", path, err))
			continue
		}
		removed++
	}
	if removed > 0 {
		log.printf("removed %d of kedge's files from %s", removed, dir)
	}
	return errors.Join(errs...)
}

// linksUnder reports whether path is a symlink whose target lies below
// root; a dangling one counts, as the pod's log is often gone first.
func linksUnder(path, root string) bool {
	target, err := os.Readlink(path)
	return err == nil && isUnder(target, root)
}

// removeEmpty removes each dir, in order, if it exists and is empty.
func removeEmpty(log logger, dirs ...string) error {
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) > 0 {
			continue
		}
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("removing %s: %w", dir, err)
		}
		log.printf("removed %s", dir)
	}
	return nil
}
