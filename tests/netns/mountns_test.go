package netns

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func requireNsTools(t *testing.T) {
	t.Helper()
	requireRoot(t)
	for _, tool := range []string{"nsenter", "unshare", "mount", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian packages util-linux, mount, coreutils)", tool)
		}
	}
}

// spawnOutput runs a short command through Spawn.
func spawnOutput(t *testing.T, n *Node, name string, args ...string) string {
	t.Helper()
	cmd, err := n.Spawn(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := combined(cmd)
	if err != nil {
		t.Fatalf("node %s: %v", n.Name, err)
	}
	return out
}

func TestSpawnEntersNodeNamespacesWithoutForking(t *testing.T) {
	requireNsTools(t)
	top := New(t, 1)
	n := top.Nodes[0]
	cmd, err := n.Spawn("sh", "-c", "echo $$; readlink /proc/self/ns/net /proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := combined(cmd)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(out)
	if len(got) != 3 || got[0] != strconv.Itoa(cmd.Process.Pid) {
		t.Fatalf("want the program's own pid %d first (nsenter must exec, not fork), got %q", cmd.Process.Pid, out)
	}
	wantNet := strings.TrimSpace(n.Run(t, "readlink", "/proc/self/ns/net"))
	ownMnt, _ := os.Readlink("/proc/self/ns/mnt")
	if got[1] != wantNet || got[2] == ownMnt || got[2] != n.holder.mnt {
		t.Fatalf("net %s mnt %s; want net %s and the holder's mnt %s", got[1], got[2], wantNet, n.holder.mnt)
	}
}

// /sys must describe the node's links (as under `ip netns exec`) and still
// carry the host's cgroup hierarchies, which the kubelet reads.
func TestSpawnSeesNodeSysfsAndHostCgroups(t *testing.T) {
	requireNsTools(t)
	top := New(t, 1)
	n := top.Nodes[0]
	links := strings.Fields(spawnOutput(t, n, "ls", "/sys/class/net"))
	if !slices.Contains(links, "eth0") || slices.Contains(links, top.Bridge) {
		t.Fatalf("/sys/class/net in the node = %v, want eth0 and not the host's %s", links, top.Bridge)
	}
	host, err := os.ReadDir(cgroupMountRoot)
	if err != nil {
		t.Fatal(err)
	}
	inner := strings.Fields(spawnOutput(t, n, "ls", cgroupMountRoot))
	for _, e := range host {
		if !slices.Contains(inner, e.Name()) {
			t.Errorf("%s/%s missing in the node's mount namespace (has %v)", cgroupMountRoot, e.Name(), inner)
		}
	}
}

// Mounts made through Spawn persist across commands, never reach the host,
// and vanish with Close.
func TestSpawnMountsStayInsideAndVanish(t *testing.T) {
	requireNsTools(t)
	top := New(t, 1)
	n := top.Nodes[0]
	dir := t.TempDir()
	spawnOutput(t, n, "mount", "-t", "tmpfs", "kedge-test", dir)
	spawnOutput(t, n, "sh", "-c", "echo inside > "+dir+"/marker")
	if got := spawnOutput(t, n, "cat", dir+"/marker"); got != "inside\n" {
		t.Fatalf("second command does not see the first one's mount: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "marker")); !os.IsNotExist(err) {
		t.Fatalf("tmpfs mounted in the node leaked to the host: %v", err)
	}
	pid := n.holder.cmd.Process.Pid
	top.Close()
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !os.IsNotExist(err) {
		t.Fatalf("holder %d still exists after Close", pid)
	}
}

// Close kills a daemon left in the mount namespace, a "container" (other
// mount namespace) in the node's cgroup, removes the cgroups, and deletes
// the /run/netns file of a network namespace pinned inside.
func TestCloseKillsNodeProcessesAndCgroups(t *testing.T) {
	requireNsTools(t)
	top := New(t, 1)
	n := top.Nodes[0]
	root, err := n.CgroupRoot()
	if err != nil {
		t.Fatal(err)
	}
	daemon := startedPid(t, spawnOutput(t, n, "sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!"))
	container := exec.Command("unshare", "--mount", "sleep", "1000")
	if err := container.Start(); err != nil {
		t.Fatal(err)
	}
	// Reaped here, so the zombie never lingers; a kill that Close missed is
	// reported by waitGone before this runs.
	t.Cleanup(func() { _ = container.Process.Kill(); _ = container.Wait() })
	joinCgroup(t, n.cgroups, "pod1", container.Process.Pid)
	pinned := "/run/netns/" + n.Name + "-pod"
	spawnOutput(t, n, "sh", "-c", "touch "+pinned+" && mount --bind /proc/self/ns/net "+pinned)

	top.Close()
	waitGone(t, container.Process.Pid)
	waitGone(t, daemon)
	for _, dir := range n.cgroups {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left behind", dir)
		}
	}
	if _, err := os.Stat(pinned); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", pinned, err)
	}
	if root != "/"+n.Name {
		t.Errorf("CgroupRoot = %q, want /%s", root, n.Name)
	}
}

// joinCgroup puts pid into a child cgroup "sub" of every hierarchy, the
// way runc places a container below the kubelet's cgroup root. In a v1
// cpuset, joining works only if the root inherited cpus and mems.
func joinCgroup(t *testing.T, roots []string, sub string, pid int) {
	t.Helper()
	for _, r := range roots {
		dir := filepath.Join(r, sub)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := inheritCpuset(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatalf("joining %s: %v", dir, err)
		}
	}
}

func startedPid(t *testing.T, out string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("want a pid, got %q", out)
	}
	return pid
}

// waitGone waits until pid has exited; an orphan is reaped by init, so a
// zombie counts as gone.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("process %d survived Close", pid)
}

func TestCgroupRootInheritsCpuset(t *testing.T) {
	requireNsTools(t)
	n := New(t, 1).Nodes[0]
	if _, err := n.CgroupRoot(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range n.cgroups {
		mine, err := os.ReadFile(filepath.Join(dir, "cpuset.cpus"))
		if err != nil {
			continue // not a v1 cpuset hierarchy
		}
		parent, _ := os.ReadFile(filepath.Join(filepath.Dir(dir), "cpuset.cpus"))
		if strings.TrimSpace(string(mine)) == "" || string(mine) != string(parent) {
			t.Errorf("%s/cpuset.cpus = %q, want the parent's %q", dir, mine, parent)
		}
	}
}

func TestCgroupMounts(t *testing.T) {
	info := `25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
26 25 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
27 26 0:24 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
28 26 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
29 26 0:26 / /sys/fs/cgroup/systemd rw shared:9 - cgroup cgroup rw,name=systemd
30 30 0:24 / /var/lib/other rw - cgroup cgroup rw,cpu,cpuacct
31 26 0:24 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct`
	got := CgroupMounts(info)
	want := []string{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"}
	if !slices.Equal(got, want) {
		t.Fatalf("cgroupMounts = %v, want %v", got, want)
	}
	v2 := "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate"
	if got := CgroupMounts(v2); !slices.Equal(got, []string{"/sys/fs/cgroup"}) {
		t.Fatalf("cgroup v2: %v", got)
	}
}

func TestNetnsMountsOnlyIn(t *testing.T) {
	outer := `40 30 0:4 net:[4026532300] /run/netns/kedge-abc-0 rw - nsfs nsfs rw`
	inner := outer + `
41 30 0:4 net:[4026532400] /run/netns/cni-1234 rw - nsfs nsfs rw
42 30 0:50 / /run/netns/not-nsfs rw - tmpfs tmpfs rw
43 30 0:4 net:[4026532500] /var/lib/elsewhere rw - nsfs nsfs rw
44 30 0:4 net:[4026532600] /run/netns/with\040space rw - nsfs nsfs rw`
	got := netnsMountsOnlyIn(inner, outer)
	want := []string{"/run/netns/cni-1234", "/run/netns/with space"}
	if !slices.Equal(got, want) {
		t.Fatalf("netnsMountsOnlyIn = %q, want %q", got, want)
	}
}
