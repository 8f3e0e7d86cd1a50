package netns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// holderScript runs in the holder's new mount namespace, inside the node's
// network namespace. Like `ip netns exec` it replaces /sys with a sysfs of
// the node's network namespace (so /sys/class/net shows the node's links),
// but unlike it, it puts the host's cgroup mounts back under /sys/fs/cgroup,
// which the kubelet and runc need. /var/lib gets a private tmpfs because
// libcni keeps its result cache in /var/lib/cni whatever the data dir
// (containerd 2.x cannot move it), and a node must leave nothing on the
// host. $1 is an empty staging directory.
const holderScript = `set -eu
mount --rbind /sys/fs/cgroup "$1"
umount -l /sys
mount -t sysfs sysfs /sys
mount --move "$1" /sys/fs/cgroup
mount -t tmpfs -o mode=0755 kedge-var-lib /var/lib
echo ready
exec sleep infinity`

// holder is a `sleep infinity` whose only job is to keep a node's mount
// namespace alive while the processes in it come and go, so a restarted
// kedge finds the mounts (overlays, pod volumes, netns files) of the pods
// its previous run left running.
type holder struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd is reaped
	mnt  string        // readlink of /proc/<pid>/ns/mnt, e.g. "mnt:[4026532246]"
}

// nsPath is the file `ip netns add` bind-mounted the namespace on.
func (n *Node) nsPath() string { return "/run/netns/" + n.Name }

// Spawn returns a command that runs name/args in the node's network
// namespace and its long-lived mount namespace, which it creates on first
// use. nsenter execs the program without forking (no PID namespace is
// entered), so cmd.Process.Pid is the program's own PID and signals sent to
// it reach the program. Close kills whatever still runs in that mount
// namespace.
func (n *Node) Spawn(name string, args ...string) (*exec.Cmd, error) {
	h, err := n.mountNS()
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n.Name, err)
	}
	argv := append([]string{
		"--net=" + n.nsPath(),
		fmt.Sprintf("--mount=/proc/%d/ns/mnt", h.cmd.Process.Pid),
		"--", name}, args...)
	return exec.Command("nsenter", argv...), nil
}

// mountNS returns the node's holder, starting it on first use.
func (n *Node) mountNS() (*holder, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.holder != nil {
		select {
		case <-n.holder.done:
			return nil, fmt.Errorf("mount namespace holder (pid %d) has exited", n.holder.cmd.Process.Pid)
		default:
			return n.holder, nil
		}
	}
	h, err := startHolder(n.nsPath())
	if err != nil {
		return nil, err
	}
	n.holder = h
	return h, nil
}

// startHolder starts the holder in the network namespace at nsPath and
// returns once its mount namespace is set up. Slave propagation lets host
// mounts (such as new /run/netns entries) reach the namespace while nothing
// mounted inside it ever reaches the host.
func startHolder(nsPath string) (*holder, error) {
	stage, err := os.MkdirTemp("", "kedge-sys-")
	if err != nil {
		return nil, err
	}
	// Empty again on the host once the script moved the mount away.
	defer os.Remove(stage)
	cmd := exec.Command("nsenter", "--net="+nsPath, "--",
		"unshare", "--mount", "--propagation", "slave", "--",
		"sh", "-c", holderScript, "sh", stage)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", cmdLine(cmd.Args), err)
	}
	h := &holder{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(h.done) }()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		h.kill()
		return nil, fmt.Errorf("%s: mount namespace setup failed: %s", cmdLine(cmd.Args), strings.TrimSpace(stderr.String()))
	}
	h.mnt, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid))
	if err != nil {
		h.kill()
		return nil, fmt.Errorf("reading holder's mount namespace: %w", err)
	}
	return h, nil
}

// kill ends the holder (started by this package) and waits until reaped.
func (h *holder) kill() {
	_ = h.cmd.Process.Kill()
	<-h.done
}

// releaseMountNS kills every process left in the node's mount namespace
// (kedge, containerd, shims: all started by the test), then the holder;
// the namespace and all its mounts vanish with the last of them. nsfs
// mounts that pod sandboxes left under /run/netns disappear with it, but
// their mount point files live on the host's /run and are removed here.
func (n *Node) releaseMountNS(logf func(string, ...any)) {
	n.mu.Lock()
	h := n.holder
	n.mu.Unlock()
	if h == nil {
		return
	}
	pid := h.cmd.Process.Pid
	if err := killMountNS(h.mnt, pid); err != nil {
		logf("netns cleanup: node %s: %v", n.Name, err)
	}
	inner, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	h.kill()
	// Anything that raced the first sweep has lost the holder by now.
	if err := killMountNS(h.mnt, -1); err != nil {
		logf("netns cleanup: node %s: %v", n.Name, err)
	}
	outer, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		logf("netns cleanup: %v", err)
		return
	}
	for _, f := range netnsMountsOnlyIn(string(inner), string(outer)) {
		removeNetnsFile(f, logf)
	}
}

// killMountNS SIGKILLs every process whose mount namespace is mnt, except
// pid keep, until none is left.
func killMountNS(mnt string, keep int) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids := pidsInMountNS(mnt, keep)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v in %s survive SIGKILL", pids, mnt)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pidsInMountNS lists live processes in mount namespace mnt. A zombie's
// namespace links are unreadable, so the dead are not listed.
func pidsInMountNS(mnt string, keep int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == keep {
			continue
		}
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && link == mnt {
			pids = append(pids, pid)
		}
	}
	return pids
}

// netnsMountsOnlyIn returns the nsfs mount points under /run/netns that
// mountinfo inner (the holder's) has and outer (the host's) lacks: network
// namespaces that processes in the holder's namespace pinned there, such as
// containerd's pod sandboxes. Mounts the host made, such as the node's own
// namespace, are in both and are not returned.
func netnsMountsOnlyIn(inner, outer string) []string {
	host := map[string]bool{}
	for _, m := range parseMountinfo(outer) {
		host[m.point] = true
	}
	var only []string
	for _, m := range parseMountinfo(inner) {
		if m.fstype == "nsfs" && strings.HasPrefix(m.point, "/run/netns/") && !host[m.point] {
			only = append(only, m.point)
		}
	}
	return only
}

// removeNetnsFile deletes an empty file that served as a mount point in the
// holder's namespace, unless the host has since mounted on it.
func removeNetnsFile(path string, logf func(string, ...any)) {
	outer, _ := os.ReadFile("/proc/self/mountinfo")
	for _, m := range parseMountinfo(string(outer)) {
		if m.point == path {
			return
		}
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 || filepath.Dir(path) != "/run/netns" {
		logf("netns cleanup: left %s alone: %v %v", path, fi, err)
		return
	}
	if err := os.Remove(path); err != nil {
		logf("netns cleanup: %v", err)
	}
}

type mount struct{ point, fstype string }

// parseMountinfo reads /proc/<pid>/mountinfo text: field 5 is the mount
// point, and the first field after the "-" separator is the fs type.
func parseMountinfo(text string) []mount {
	var out []mount
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		for i := 6; i < len(f)-1; i++ {
			if f[i] == "-" {
				out = append(out, mount{point: unescapeMountinfo(f[4]), fstype: f[i+1]})
				break
			}
		}
	}
	return out
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
