package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const cgroupMountRoot = "/sys/fs/cgroup"

// CgroupRoot creates the node's own cgroup, named like the node, at the top
// of every cgroup hierarchy mounted under /sys/fs/cgroup (each cgroup v1
// controller, name=systemd and a hybrid host's unified tree, or the single
// cgroup v2 tree), and returns its path for the kubelet, e.g.
// "/kedge-1a2b3c-0" for --kubelet-arg=cgroup-root=/kedge-1a2b3c-0. All of
// the node's containers then live below it, where Close finds and kills
// them. Later calls return the same path.
func (n *Node) CgroupRoot() (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cgroupRoot != "" {
		return n.cgroupRoot, nil
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	mounts := CgroupMounts(string(info))
	if len(mounts) == 0 {
		return "", fmt.Errorf("no cgroup hierarchy mounted under %s", cgroupMountRoot)
	}
	for _, m := range mounts {
		dir := filepath.Join(m, n.Name)
		// Mkdir, not MkdirAll: an existing directory is not ours to remove.
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
		n.cgroups = append(n.cgroups, dir)
		if err := inheritCpuset(dir); err != nil {
			return "", err
		}
	}
	n.cgroupRoot = "/" + n.Name
	return n.cgroupRoot, nil
}

// CgroupMounts returns the mount points of cgroup and cgroup2 filesystems
// at or under /sys/fs/cgroup, once each, from mountinfo text. Co-mounted
// controllers (cpu,cpuacct) are one mount, so their symlinks are skipped.
func CgroupMounts(mountinfo string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range parseMountinfo(mountinfo) {
		if m.fstype != "cgroup" && m.fstype != "cgroup2" {
			continue
		}
		if m.point != cgroupMountRoot && !strings.HasPrefix(m.point, cgroupMountRoot+"/") {
			continue
		}
		if !seen[m.point] {
			seen[m.point] = true
			out = append(out, m.point)
		}
	}
	return out
}

// inheritCpuset fills a new cgroup v1 cpuset from its parent: v1 leaves
// cpuset.cpus and cpuset.mems empty, and no process can join (nor can the
// kubelet create working children) until they are set. cgroup v2 cpusets
// inherit by themselves.
func inheritCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		mine, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			return nil // not a cpuset hierarchy
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(mine)) != "" {
			continue
		}
		parent, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), parent, 0o644); err != nil {
			return fmt.Errorf("copying %s to %s: %w", f, dir, err)
		}
	}
	return nil
}

// removeCgroups kills every process in the node's cgroup subtrees (the
// containers of the test's kedge) and removes the cgroups bottom-up.
func (n *Node) removeCgroups() error {
	n.mu.Lock()
	roots := n.cgroups
	n.mu.Unlock()
	if len(roots) == 0 {
		return nil
	}
	if err := killCgroupProcs(roots); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := rmdirCgroups(roots)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		// An exiting task keeps its cgroup busy for a moment.
		time.Sleep(100 * time.Millisecond)
	}
}

// killCgroupProcs SIGKILLs the processes of every cgroup below roots until
// none is left; a fork racing the kill is caught by the next round.
func killCgroupProcs(roots []string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids := cgroupProcs(roots)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v in cgroups %v survive SIGKILL", pids, roots)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cgroupProcs lists the PIDs in cgroup.procs anywhere below roots, once
// each (in cgroup v1 every hierarchy lists the same processes).
func cgroupProcs(roots []string) []int {
	seen := map[int]bool{}
	var pids []int
	for _, dir := range cgroupDirs(roots) {
		data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(f); err == nil && !seen[p] {
				seen[p] = true
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// cgroupDirs returns roots and every cgroup below them, deepest first, the
// order in which they can be removed.
func cgroupDirs(roots []string) []string {
	var dirs []string
	for _, r := range roots {
		_ = filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.SliceStable(dirs, func(i, j int) bool {
		return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/")
	})
	return dirs
}

// rmdirCgroups removes the cgroups below and including roots. A cgroup is
// removed with rmdir(2) even though it lists files: they are not real files.
func rmdirCgroups(roots []string) error {
	var errs []error
	for _, dir := range cgroupDirs(roots) {
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
