//go:build e2e

package tests

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The benchmarks' look at a node's processes, through /proc.

// A node process's part in the figures.
type procRole string

const (
	roleKedge      procRole = "kedge"      // the kedge process itself
	roleContainerd procRole = "containerd" // kedge's child
	roleShim       procRole = "shim"       // containerd-shim-runc-v2, wherever reparented
	roleOther      procRole = "other"      // any other descendant of kedge (iptables, ctr, mount, ...)
	rolePod        procRole = "pod"        // below a shim: containers, never in the node's totals
)

type procInfo struct {
	role    procRole
	start   string // starttime from /proc/<pid>/stat: tells a reused PID apart
	rssKB   int64
	anonKB  int64
	pssKB   int64 // proportional: pages shared by n processes count 1/n each
	written int64 // write_bytes from /proc/<pid>/io
}

// procSample is one look at the node's processes, by PID.
type procSample map[int]procInfo

// sampleProcs finds kedge's processes: kedge itself, its descendants, and
// the shims in its mount namespace. Shims daemonize, so they are reparented
// away from containerd (to init, or to a subreaper); their descendants are
// the pods' processes. Other processes in that mount namespace (the
// harness's holder, `kedge kubectl` runs) are not the node's and are left
// out.
func sampleProcs(t *testing.T, kedgePID int) procSample {
	t.Helper()
	all, err := readProcs()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all.procs[kedgePID]; !ok {
		t.Fatalf("kedge (pid %d) is gone", kedgePID)
	}
	out := procSample{}
	for pid, role := range all.roles(kedgePID) {
		if info, ok := measure(pid, role, all.procs[pid].start); ok {
			out[pid] = info
		}
	}
	return out
}

// procTable is every process on the host, and who is whose parent.
type procTable struct {
	procs    map[int]proc
	children map[int][]int
}

type proc struct {
	ppid        int
	comm, start string
}

func readProcs() (procTable, error) {
	all := procTable{procs: map[int]proc{}, children: map[int][]int{}}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return all, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readStat(pid); ok {
			all.procs[pid] = p
			all.children[p.ppid] = append(all.children[p.ppid], pid)
		}
	}
	return all, nil
}

// readStat parses /proc/<pid>/stat; false if the process exited meanwhile.
func readStat(pid int) (proc, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(stat)
	end := strings.LastIndexByte(s, ')')
	begin := strings.IndexByte(s, '(')
	if begin < 0 || end < begin {
		return proc{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return proc{ppid: ppid, comm: s[begin+1 : end], start: f[19]}, true
}

func (all procTable) isShim(pid int) bool {
	return strings.HasPrefix(all.procs[pid].comm, "containerd-shim")
}

// roles gives kedge, its descendants, and the shims of its mount
// namespace with theirs, their part in the figures.
func (all procTable) roles(kedgePID int) map[int]procRole {
	roles := map[int]procRole{kedgePID: roleKedge}
	for _, c := range all.children[kedgePID] {
		all.mark(roles, c, false)
	}
	mnt, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", kedgePID))
	if err != nil {
		return roles
	}
	for pid := range all.procs {
		if !all.isShim(pid) {
			continue
		}
		if m, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && m == mnt {
			all.mark(roles, pid, false)
		}
	}
	return roles
}

// mark gives pid its role, a pod's if it is below a shim, and then its
// descendants theirs.
func (all procTable) mark(roles map[int]procRole, pid int, inPod bool) {
	if _, done := roles[pid]; done {
		return
	}
	role := roleOther
	switch {
	case inPod:
		role = rolePod
	case all.isShim(pid):
		role = roleShim
	case all.procs[pid].comm == "containerd":
		role = roleContainerd
	}
	roles[pid] = role
	for _, c := range all.children[pid] {
		all.mark(roles, c, role == roleShim || role == rolePod)
	}
}

// measure reads a process's memory and write figures; false if it exited
// meanwhile.
func measure(pid int, role procRole, start string) (procInfo, bool) {
	info := procInfo{role: role, start: start}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return info, false
	}
	info.rssKB = procField(string(status), "VmRSS:")
	if rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		info.anonKB = procField(string(rollup), "Anonymous:")
		info.pssKB = procField(string(rollup), "Pss:")
	}
	if io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		info.written = procField(string(io), "write_bytes:")
	}
	return info, true
}

// procField is the first number after key at the start of a line.
func procField(text, key string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func (s procSample) count(role procRole) int {
	n := 0
	for _, p := range s {
		if p.role == role {
			n++
		}
	}
	return n
}

// rss is the summed VmRSS, in bytes, of roles. Pages shared between
// processes (the shims' binary) count once per process.
func (s procSample) rss(roles ...procRole) int64 {
	return s.bytes(roles, func(p procInfo) int64 { return p.rssKB })
}

func (s procSample) anon(roles ...procRole) int64 {
	return s.bytes(roles, func(p procInfo) int64 { return p.anonKB })
}

func (s procSample) pss(roles ...procRole) int64 {
	return s.bytes(roles, func(p procInfo) int64 { return p.pssKB })
}

// bytes sums a field in kB over the processes of roles.
func (s procSample) bytes(roles []procRole, kB func(procInfo) int64) int64 {
	var sum int64
	for _, p := range s {
		if slices.Contains(roles, p.role) {
			sum += kB(p)
		}
	}
	return sum * 1024
}

// writtenSince is the bytes each role wrote between before and s, from
// write_bytes (bytes the process caused to be sent to storage). What is
// counted: the growth of every process alive at both samples, which
// includes the children it reaped meanwhile (the kernel adds a reaped
// child's I/O to its parent: kedge's iptables and ctr runs count as kedge,
// containerd's short-lived shim starters as containerd); and the whole
// write_bytes of a process started after before and still alive. Lost: a
// process that exited without being reaped by one of these (a shim
// reparented to init), and writes that never reach storage (tmpfs).
func (s procSample) writtenSince(before procSample) map[procRole]int64 {
	out := map[procRole]int64{}
	for pid, p := range s {
		w := p.written
		if b, ok := before[pid]; ok && b.start == p.start {
			w -= b.written
		}
		out[p.role] += w
	}
	return out
}
