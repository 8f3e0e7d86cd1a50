package teardown

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one process. The start time makes it an identity: a pid the
// kernel reuses while we wait is then not taken for the one we killed.
type proc struct {
	pid, ppid int
	name      string // comm, for the report
	state     string
	start     string
}

// stopProcesses kills the node's processes and waits until they are gone,
// so the mounts they hold can be released next.
func stopProcesses(ctx context.Context, procRoot, bundleRoot string, wait time.Duration, log logger) error {
	targets, err := findTargets(procRoot, bundleRoot)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		log.printf("no containerd or container processes of %s running", bundleRoot)
		return nil
	}
	for _, p := range targets {
		// SIGKILL, not SIGTERM: the service is already stopped and this is
		// the forced part; shims would otherwise report exits to nobody.
		if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("killing %s (pid %d): %w", p.name, p.pid, err)
		}
		log.printf("killed %s (pid %d)", p.name, p.pid)
	}
	return waitGone(ctx, procRoot, targets, wait)
}

// findTargets returns the processes whose binary lives in the node's
// runtime bundle (containerd, its shims, runc) and everything they started
// (the containers), ordered by pid. Processes of other data dirs and of
// other runtimes on the host have other binaries and are left alone.
func findTargets(procRoot, bundleRoot string) ([]proc, error) {
	all, err := readProcs(procRoot)
	if err != nil {
		return nil, err
	}
	children := make(map[int][]int)
	for _, p := range all {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	var queue []int
	for pid := range all {
		if exe := exePath(procRoot, pid); isUnder(exe, bundleRoot) {
			queue = append(queue, pid)
		}
	}
	picked := make(map[int]bool)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if picked[pid] {
			continue
		}
		picked[pid] = true
		queue = append(queue, children[pid]...)
	}
	var out []proc
	for pid := range picked {
		out = append(out, all[pid])
	}
	slices.SortFunc(out, func(a, b proc) int { return a.pid - b.pid })
	return out, nil
}

// exePath is the binary a process runs, "" for kernel threads and for
// processes that exited or are not ours to inspect.
func exePath(procRoot string, pid int) string {
	exe, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "exe"))
	if err != nil {
		return ""
	}
	// A bundle replaced by an upgrade still runs from the deleted file.
	return strings.TrimSuffix(exe, " (deleted)")
}

// isUnder reports whether path lies strictly below dir (not dir itself,
// and not a sibling sharing its prefix such as dir+"2").
func isUnder(path, dir string) bool {
	return path != "" && strings.HasPrefix(path, filepath.Clean(dir)+"/")
}

// readProcs reads every process's parent and identity. Processes that exit
// during the scan are skipped.
func readProcs(procRoot string) (map[int]proc, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	all := make(map[int]proc)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process dir (self, sys, ...)
		}
		if p, err := readStat(procRoot, pid); err == nil {
			all[pid] = p
		}
	}
	return all, nil
}

// readStat parses /proc/<pid>/stat. The command name is in parentheses and
// may itself hold spaces and parentheses, so fields are counted from the
// last ')'.
func readStat(procRoot string, pid int) (proc, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return proc{}, err
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("pid %d: malformed stat %q", pid, s)
	}
	// Fields after the name start at field 3 (state); starttime is field 22.
	rest := strings.Fields(s[end+1:])
	if len(rest) < 20 {
		return proc{}, fmt.Errorf("pid %d: short stat %q", pid, s)
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return proc{}, fmt.Errorf("pid %d: parent %q: %w", pid, rest[1], err)
	}
	return proc{pid: pid, ppid: ppid, name: s[open+1 : end], state: rest[0], start: rest[19]}, nil
}

// alive reports whether p still exists. A zombie counts as gone: it holds
// no mounts or namespaces any more, only an entry for its parent to reap.
func alive(procRoot string, p proc) bool {
	now, err := readStat(procRoot, p.pid)
	return err == nil && now.start == p.start && now.state != "Z"
}

// waitGone polls until every target has exited or the time is up.
func waitGone(ctx context.Context, procRoot string, targets []proc, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		left := slices.DeleteFunc(slices.Clone(targets), func(p proc) bool { return !alive(procRoot, p) })
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d killed processes still exist after %s (uninterruptible I/O?), first pid %d (%s)", len(left), wait, left[0].pid, left[0].name)
		case <-tick.C:
		}
	}
}
