//go:build e2e

package tests

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kedge-io/kedge/tests/netns"
)

// A machine is an edge host for the install tests: a systemd-nspawn
// container that boots a real init system, systemd or OpenRC, in a test
// node's network namespace (so it has the node's address and no route
// out). Its root is made from this host's own files, nothing downloaded:
//
//   - /etc, /var, /root, /tmp are its own, in the machine's dir; /etc starts
//     minimal (os-release, users, the dpkg alternatives, resolv.conf naming
//     the topology's resolver) and /etc/machine-id is filled at boot.
//   - /usr is the host's /usr, read-only, under an overlay whose upper dir
//     is the machine's own: what the machine writes there (kedge in
//     /usr/local/bin, OpenRC's programs) stays in the machine. /usr/local
//     starts empty, as on a new host. /bin, /sbin, /lib* link to usr/ as on
//     a usrmerged Debian.
//   - an OpenRC machine gets Debian's openrc, librc1 and libeinfo1
//     unpacked into its overlay (never installed on the host, where openrc
//     conflicts with systemd-sysv), boots /sbin/openrc-init, and has no
//     systemctl.
//   - the machine's share dir is at machineShare, read-only: the test puts
//     install.sh and the binaries there.
//
// What kedge needs of a host, and how a machine gives it:
//
//   - capabilities: --capability=all. Syscalls: nspawn's seccomp filter
//     also denies keyctl (runc joins a session keyring) and bpf, which
//     --system-call-filter adds back.
//   - cgroups: the machine runs in the node's own cgroup (netns
//     Node.CgroupRoot) in every hierarchy, and a cgroup namespace shows it
//     that subtree as its root, so kubelet and systemd slices stay there.
//     On a cgroup v1 host nspawn mounts the controllers read-only; after
//     boot they are remounted read-write from inside and a systemd PID 1
//     re-executes so that it manages them (daemon-reexec re-reads which
//     controllers are writable). openrc-init mounts a sysfs of its own
//     over /sys while it probes for SELinux, hiding those mounts: it is
//     unmounted again.
//   - /dev/kmsg (the kubelet's OOM watcher) is bound in.
//   - /proc/sys/net, the node netns' own, is writable (kube-proxy sets
//     route_localnet and the like). The rest of /proc/sys stays
//     read-only, so nothing in the machine changes the host's kernel
//     settings; the host-wide ones the kubelet insists on are set
//     beforehand (setKubeletTunables), and newTopology's
//     keepKernelTunables restores them.
//   - no host systemd is needed: --register=no --keep-unit, and nspawn's
//     sd_notify messages (READY=1, X_NSPAWN_LEADER_PID) reach a socket of
//     the test.
//
// Commands run inside with nsenter into all of the leader's namespaces,
// joined first to the machine's cgroups, with a clean environment. Cleanup
// SIGKILLs the machine's PID 1, which ends every process of its PID
// namespace; the topology then removes the cgroups and the namespace.
type machine struct {
	owner *testing.T
	init  initSystem
	net   *netns.Node
	name  string // machine name, hostname, and the Kubernetes node name
	dir   string
	root  string // the machine's / (but /usr and /run are mounted over)
	upper string // upper dir of the /usr overlay: what the machine wrote there
	share string // machineShare, seen from the host

	// cgroupProcs are the cgroup.procs files that the machine's commands
	// join, one per hierarchy: the node's cgroup until the machine runs,
	// then the root of its cgroup namespace.
	cgroupProcs []string
	nspawnDirs  []string // dirs under /run/systemd/nspawn this machine created

	cmd     *exec.Cmd // systemd-nspawn
	exited  chan struct{}
	console syncBuffer // nspawn's and the machine's console output
	notify  *net.UnixConn

	mu     sync.Mutex
	leader int  // the machine's PID 1, as the host sees it
	ready  bool // READY=1 from nspawn
}

type initSystem string

const (
	systemdInit initSystem = "systemd"
	openrcInit  initSystem = "openrc"
)

const (
	// machineShare is where a machine sees its share dir, read-only.
	machineShare = "/mnt/kedge-test"
	// machinePATH is PATH for commands in a machine.
	machinePATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// machineBootTimeout bounds a boot, up to the default runlevel or
	// target.
	machineBootTimeout = 90 * time.Second
)

// openrcDebs are unpacked into an OpenRC machine: openrc and the two
// libraries of its own that the host lacks. Its other dependencies are
// libraries every Debian has.
var openrcDebs = []string{"openrc", "librc1", "libeinfo1"}

// bootMachine makes a machine in test node in (a node of newTopology,
// which restores kernel tunables) and boots it. owner gets its cleanup
// and temp dir: a shared machine belongs to the top-level test.
func bootMachine(owner *testing.T, in *netns.Node, init initSystem) *machine {
	owner.Helper()
	requireMachineHost(owner)
	dir := owner.TempDir()
	m := &machine{
		owner: owner, init: init, net: in, name: in.Name, dir: dir,
		root:  filepath.Join(dir, "root"),
		upper: filepath.Join(dir, "usr"),
		share: filepath.Join(dir, "share"),
	}
	owner.Cleanup(m.cleanup)
	begin := time.Now()
	m.makeRoot(owner)
	if init == openrcInit {
		m.addOpenRC(owner)
	}
	m.joinNodeCgroups(owner)
	m.start(owner)
	m.joinMachineCgroups(owner)
	m.waitBooted(owner)
	m.delegateCgroups(owner)
	setKubeletTunables(owner)
	owner.Logf("machine %s (%s, %s) booted in %s", m.name, init, m.net.IP, time.Since(begin).Round(time.Millisecond))
	return m
}

// requireMachineHost skips without root and fails when a tool that makes
// or enters machines is missing.
func requireMachineHost(t *testing.T) {
	t.Helper()
	requireAgentHost(t)
	for tool, pkg := range map[string]string{"systemd-nspawn": "systemd-container", "dpkg-deb": "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian package %s, from scripts/deps.sh base)", tool, pkg)
		}
	}
	if link, err := os.Readlink("/bin"); err != nil || link != "usr/bin" {
		t.Fatalf("machines share the host's /usr and need a usrmerged host (/bin -> usr/bin): %q %v", link, err)
	}
}

// makeRoot lays out the machine's own root and the overlay's upper dir.
func (m *machine) makeRoot(t *testing.T) {
	t.Helper()
	r := m.root
	for _, d := range []string{"etc/systemd/system", "var/lib", "var/log", "var/cache", "var/tmp",
		"root", "tmp", "home", "srv", "opt", "mnt", "media", "run", "proc", "sys", "dev", "usr"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for d, mode := range map[string]os.FileMode{"tmp": 0o1777, "var/tmp": 0o1777, "root": 0o700} {
		if err := os.Chmod(filepath.Join(r, d), mode); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"var/run": "/run", "var/lock": "/run/lock",
		"etc/mtab": "../proc/self/mounts", "etc/localtime": "/usr/share/zoneinfo/Etc/UTC",
	}
	// /bin, /sbin, /lib, /lib64 and the like, as the host has them.
	entries, err := os.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if target, err := os.Readlink("/" + e.Name()); err == nil && strings.HasPrefix(target, "usr/") {
			links[e.Name()] = target
		}
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(r, name)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/hostname":    m.name + "\n",
		"etc/hosts":       fmt.Sprintf("127.0.0.1 localhost\n%s %s\n", m.net.IP, m.name),
		"etc/resolv.conf": "nameserver " + m.net.Resolver.String() + "\n",
		"etc/fstab":       "",
		"etc/machine-id":  "", // systemd fills it from the container's UUID
		// Only root has a password entry: no one logs in.
		"etc/shadow":  "root:*:19000:0:99999:7:::\n",
		"etc/gshadow": "root:*::\n",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(r, name), content)
	}
	for name, mode := range map[string]os.FileMode{"etc/hostname": 0o644, "etc/hosts": 0o644, "etc/resolv.conf": 0o644,
		"etc/fstab": 0o644, "etc/machine-id": 0o444} {
		if err := os.Chmod(filepath.Join(r, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	// nspawn looks for os-release before it mounts /usr, where the host's
	// /etc/os-release points. passwd and group name the system users that
	// the packages in /usr expect; the alternatives are where /usr's
	// iptables and friends point.
	copies := [][2]string{
		{"/usr/lib/os-release", "etc/os-release"},
		{"/etc/passwd", "etc/passwd"}, {"/etc/group", "etc/group"},
		{"/etc/nsswitch.conf", "etc/nsswitch.conf"},
		{"/etc/ld.so.conf", "etc/ld.so.conf"}, {"/etc/ld.so.conf.d", "etc/ld.so.conf.d"},
		{"/etc/ld.so.cache", "etc/ld.so.cache"},
		{"/etc/alternatives", "etc/alternatives"},
	}
	for _, c := range copies {
		if _, err := os.Lstat(c[0]); err != nil {
			continue
		}
		mustExec(t, "cp", "-a", c[0], filepath.Join(r, c[1]))
	}
	if m.init == systemdInit {
		if err := os.Symlink("/usr/lib/systemd/system/multi-user.target", filepath.Join(r, "etc/systemd/system/default.target")); err != nil {
			t.Fatal(err)
		}
	}
	// /usr/local of the machine is its own and starts empty: an opaque
	// directory hides the host's.
	local := filepath.Join(m.upper, "local")
	for _, d := range []string{local, m.share} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Setxattr(local, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatalf("making the machine's /usr/local opaque: %v", err)
	}
	// Nor has a new machine the tools kedge brings, whatever this host has.
	for _, tool := range kedgeTools {
		for _, dir := range []string{"bin", "sbin"} {
			if _, err := os.Lstat(filepath.Join("/usr", dir, tool)); err == nil {
				m.whiteout(t, filepath.Join(dir, tool))
			}
		}
	}
}

// kedgeTools are the commands install.sh links to kedge.
var kedgeTools = []string{"kubectl", "crictl", "ctr"}

// whiteout hides the host's /usr/<rel> from the machine: an overlay
// whiteout is a 0:0 character device in the upper dir.
func (m *machine) whiteout(t *testing.T, rel string) {
	t.Helper()
	p := filepath.Join(m.upper, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(p, syscall.S_IFCHR, 0); err != nil {
		t.Fatalf("whiteout for /usr/%s: %v", rel, err)
	}
}

// addOpenRC unpacks Debian's openrc into the machine, usrmerged, makes
// openrc-init its /sbin/init and hides systemctl.
func (m *machine) addOpenRC(t *testing.T) {
	t.Helper()
	stage := t.TempDir()
	for _, deb := range openrcDebFiles(t) {
		mustExec(t, "dpkg-deb", "-x", deb, stage)
	}
	for src, dst := range map[string]string{
		"etc": filepath.Join(m.root, "etc"), "usr": m.upper,
		"bin": filepath.Join(m.upper, "bin"), "sbin": filepath.Join(m.upper, "sbin"), "lib": filepath.Join(m.upper, "lib"),
	} {
		if _, err := os.Stat(filepath.Join(stage, src)); err != nil {
			continue
		}
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		mustExec(t, "cp", "-a", filepath.Join(stage, src)+"/.", dst)
	}
	if err := os.Symlink("openrc-init", filepath.Join(m.upper, "sbin", "init")); err != nil {
		t.Fatal(err)
	}
	// Debian's openrc maps LSB facilities with insserv's file (insserv is
	// not installed), and reads /etc/conf.d.
	writeFile(t, filepath.Join(m.root, "etc/insserv.conf"), "")
	for _, d := range []string{"etc/conf.d", "etc/insserv.conf.d"} {
		if err := os.MkdirAll(filepath.Join(m.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m.whiteout(t, "bin/systemctl")
}

// openrcDebFiles downloads the OpenRC packages for this arch through
// scripts/deps.sh, once, into dist/cache/openrc of the repository.
func openrcDebFiles(t *testing.T) []string {
	t.Helper()
	arch := runtime.GOARCH // kedge's names: amd64, arm64, arm
	cache, err := filepath.Abs(filepath.Join("..", "dist", "cache", "openrc"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pkg := range openrcDebs {
		dest := filepath.Join(cache, pkg+"-"+arch+".deb")
		if fi, err := os.Stat(dest); err != nil || fi.Size() == 0 {
			cmd := exec.Command(filepath.Join("..", "scripts", "deps.sh"), "deb", pkg, arch, dest)
			if out, code := runToExit(t, cmd, 5*time.Minute); code != 0 {
				t.Fatalf("scripts/deps.sh deb %s %s: exit %d\n%s", pkg, arch, code, tail(out, 20))
			}
		}
		files = append(files, dest)
	}
	return files
}

// joinNodeCgroups creates the node's cgroup in every hierarchy; the
// machine, and every command run in it, joins them.
func (m *machine) joinNodeCgroups(t *testing.T) {
	t.Helper()
	root, err := m.net.CgroupRoot()
	if err != nil {
		t.Fatalf("cgroup root for %s: %v", m.name, err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, mp := range netns.CgroupMounts(string(info)) {
		m.cgroupProcs = append(m.cgroupProcs, filepath.Join(mp, root, "cgroup.procs"))
	}
	if len(m.cgroupProcs) == 0 {
		t.Fatal("no cgroup hierarchy mounted under /sys/fs/cgroup")
	}
}

// joinMachineCgroups points the machine's commands at the root of its
// cgroup namespace in every hierarchy, where its PID 1 started: the node's
// cgroup, or the one below it that nspawn made for the payload in some
// hierarchies. A command then sees itself at "/" like the machine's own
// processes do, and so do the services it starts.
func (m *machine) joinMachineCgroups(t *testing.T) {
	t.Helper()
	host, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", m.leader))
	if err != nil {
		t.Fatal(err)
	}
	inside := m.mustRun(t, "cat", "/proc/1/cgroup")
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	procs, err := nsRootProcs(string(host), inside, string(info))
	if err != nil {
		t.Fatalf("machine %s: %v", m.name, err)
	}
	m.cgroupProcs = procs
}

// nsRootProcs returns the cgroup.procs files of the cgroup namespace's
// root in each hierarchy of mountinfo, from a process's /proc/<pid>/cgroup
// seen from the host and from inside its cgroup namespace: the host path
// less the path inside.
func nsRootProcs(host, inside, mountinfo string) ([]string, error) {
	paths := func(text string) map[string]string {
		out := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			if f := strings.SplitN(line, ":", 3); len(f) == 3 {
				out[f[1]] = f[2]
			}
		}
		return out
	}
	hostPaths, insidePaths := paths(host), paths(inside)
	var procs []string
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, typ := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(typ) < 3 || !strings.HasPrefix(f[4]+"/", "/sys/fs/cgroup/") {
			continue
		}
		key := "" // cgroup2's hierarchy line is "0::<path>"
		switch typ[0] {
		case "cgroup":
			// Super options: rw,cpu,cpuacct or rw,xattr,name=systemd; the
			// hierarchy line names the same controllers, in the same order.
			var ctrls []string
			for _, o := range strings.Split(typ[2], ",") {
				if o != "rw" && o != "ro" && o != "xattr" && !strings.Contains(o, "release_agent") && o != "clone_children" && o != "noprefix" {
					ctrls = append(ctrls, o)
				}
			}
			key = strings.Join(ctrls, ",")
		case "cgroup2":
		default:
			continue
		}
		hp, ok := hostPaths[key]
		if !ok {
			continue
		}
		ip := insidePaths[key]
		root := hp
		if ip != "" && ip != "/" {
			if !strings.HasSuffix(hp, ip) {
				return nil, fmt.Errorf("cgroup %q: host path %s does not end in the path inside, %s", key, hp, ip)
			}
			root = strings.TrimSuffix(hp, ip)
		}
		if p := filepath.Join(f[4], root, "cgroup.procs"); !slices.Contains(procs, p) {
			procs = append(procs, p)
		}
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy matches %q", host)
	}
	return procs, nil
}

// joinCgroups is the shell that puts itself into $MACHINE_CGROUPS, then
// execs its arguments.
const joinCgroups = `for f in $MACHINE_CGROUPS; do echo $$ > "$f" || exit 125; done; exec "$@"`

// start runs systemd-nspawn and waits for the machine's PID 1, and for a
// systemd machine for its READY=1.
func (m *machine) start(t *testing.T) {
	t.Helper()
	sock := filepath.Join(m.dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	m.notify = conn
	go m.readNotify()
	m.recordNspawnDirs()

	args := []string{
		"--directory=" + m.root, "--machine=" + m.name, "--hostname=" + m.name,
		// No systemd runs this host: nspawn registers nowhere, and the
		// cgroup it was started in is the machine's.
		"--register=no", "--keep-unit",
		"--network-namespace-path=/run/netns/" + m.net.Name,
		"--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
		"--capability=all", "--system-call-filter=@keyring bpf",
		"--bind=/dev/kmsg",
		"--overlay=/usr:" + m.upper + ":/usr",
		"--bind-ro=" + m.share + ":" + machineShare,
	}
	if m.init == systemdInit {
		args = append(args, "--boot", "--notify-ready=yes")
	} else {
		args = append(args, "--notify-ready=no", "/sbin/openrc-init")
	}
	cmd := exec.Command("sh", append([]string{"-c", joinCgroups, "machine", "systemd-nspawn"}, args...)...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "NOTIFY_SOCKET=" + sock, "TERM=dumb", "SYSTEMD_COLORS=0",
		// /proc/sys/net is the node's network namespace's own, writable
		// for kube-proxy and flannel; the rest of /proc/sys stays
		// read-only. (nspawn does not count a netns given by path as
		// private networking, which would do the same.)
		"SYSTEMD_NSPAWN_API_VFS_WRITABLE=network",
		"MACHINE_CGROUPS=" + strings.Join(m.cgroupProcs, " "),
	}
	cmd.Stdout, cmd.Stderr = &m.console, &m.console
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(m.exited) }()

	ok := poll(machineBootTimeout, 100*time.Millisecond, func() bool {
		if !m.running() {
			t.Fatalf("systemd-nspawn exited (%v) while booting %s:\n%s", cmd.ProcessState, m.name, tail(m.console.String(), 60))
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.leader > 0 && m.ready
	})
	if !ok {
		t.Fatalf("machine %s not ready within %s:\n%s", m.name, machineBootTimeout, tail(m.console.String(), 60))
	}
}

// readNotify records nspawn's sd_notify messages until the socket closes.
func (m *machine) readNotify() {
	buf := make([]byte, 4096)
	for {
		n, err := m.notify.Read(buf)
		if err != nil {
			return
		}
		m.mu.Lock()
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if v, ok := strings.CutPrefix(line, "X_NSPAWN_LEADER_PID="); ok {
				m.leader, _ = strconv.Atoi(v)
			}
			if line == "READY=1" {
				m.ready = true
			}
		}
		m.mu.Unlock()
	}
}

// nspawnDirsRoot holds nspawn's state on the host: locks and the dirs
// machinectl bind would use. On a host without systemd /run is no tmpfs,
// and nspawn will not remove them itself.
const nspawnDirsRoot = "/run/systemd/nspawn"

func (m *machine) recordNspawnDirs() {
	for _, d := range []string{"/run/systemd", nspawnDirsRoot, nspawnDirsRoot + "/locks", nspawnDirsRoot + "/propagate",
		nspawnDirsRoot + "/propagate/" + m.name} {
		if _, err := os.Lstat(d); errors.Is(err, os.ErrNotExist) {
			m.nspawnDirs = append(m.nspawnDirs, d)
		}
	}
}

func (m *machine) running() bool {
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// waitBooted waits until the init system has reached its default target
// or runlevel.
func (m *machine) waitBooted(t *testing.T) {
	t.Helper()
	if m.init == systemdInit {
		m.waitSystemd(t)
		return
	}
	var out string
	ok := poll(machineBootTimeout, 200*time.Millisecond, func() bool {
		out, _ = m.run(10*time.Second, nil, "rc-status", "--runlevel")
		return strings.TrimSpace(out) == "default"
	})
	if !ok {
		t.Fatalf("OpenRC in %s did not reach the default runlevel: %q\n%s", m.name, out, tail(m.console.String(), 40))
	}
}

// waitSystemd waits until systemd has finished starting up. A degraded
// system is logged with its failed units, not failed on: those are the
// host's units in a container, not kedge's.
func (m *machine) waitSystemd(t *testing.T) {
	t.Helper()
	out, _ := m.run(machineBootTimeout, nil, "systemctl", "is-system-running", "--wait")
	switch state := strings.TrimSpace(out); state {
	case "running":
	case "degraded":
		failed, _ := m.run(time.Minute, nil, "systemctl", "--failed", "--no-pager", "--no-legend")
		t.Logf("machine %s is degraded:\n%s", m.name, failed)
	default:
		t.Fatalf("systemd in %s: %q\n%s", m.name, state, tail(m.console.String(), 40))
	}
}

// remountCgroups remounts read-write the cgroup mounts that nspawn made
// read-only, and prints their mount points.
const remountCgroups = `grep -E ' - cgroup2? ' /proc/self/mountinfo | while read -r _ _ _ _ mp opts _; do
	case ",$opts," in *,ro,*) mount -o remount,bind,rw,nosuid,nodev,noexec "$mp" && echo "$mp" ;; esac
done`

// dropOpenRCInitSysfs unmounts the sysfs that openrc-init mounts over
// nspawn's /sys when it probes for SELinux: it hides the cgroup mounts and,
// unlike nspawn's, it is writable.
const dropOpenRCInitSysfs = `if [ "$(awk '$5 == "/sys"' /proc/self/mountinfo | wc -l)" -gt 1 ]; then umount /sys; fi`

// delegateCgroups gives the machine write access to its cgroups, as a
// host's init has (see machine).
func (m *machine) delegateCgroups(t *testing.T) {
	t.Helper()
	if m.init == openrcInit {
		m.sh(t, dropOpenRCInitSysfs)
	}
	out := m.mustRun(t, "sh", "-c", remountCgroups)
	if strings.TrimSpace(out) == "" || m.init != systemdInit {
		return
	}
	m.mustRun(t, "systemctl", "daemon-reexec")
	m.waitSystemd(t)
	// Check that systemd now places services in the controllers too.
	if got := m.mustRun(t, "sh", "-c", "grep -E ':memory:' /proc/$(systemctl show -p MainPID --value systemd-journald)/cgroup"); !strings.Contains(got, "systemd-journald") {
		t.Fatalf("systemd in %s does not manage the memory controller after daemon-reexec: %q", m.name, got)
	}
}

// setKubeletTunables gives the host the kernel settings the kubelet would
// write (see kernelTunables).
func setKubeletTunables(t *testing.T) {
	t.Helper()
	for k, v := range kernelTunables {
		if now, err := os.ReadFile("/proc/sys/" + k); err == nil && strings.TrimSpace(string(now)) == v {
			continue
		}
		if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
			t.Fatalf("setting %s for the machine's kubelet: %v", k, err)
		}
	}
}

// command runs args in the machine: all of its PID 1's namespaces and its
// root, its cgroups, and a clean environment with env added.
func (m *machine) command(env []string, args ...string) *exec.Cmd {
	m.mu.Lock()
	leader := m.leader
	m.mu.Unlock()
	argv := []string{"-c", joinCgroups, "machine",
		"nsenter", "--target", strconv.Itoa(leader), "--all", "--root", "--wd", "--",
		"env", "-i", "PATH=" + machinePATH, "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"}
	argv = append(append(argv, env...), args...)
	cmd := exec.Command("sh", argv...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "MACHINE_CGROUPS=" + strings.Join(m.cgroupProcs, " ")}
	return cmd
}

// run runs args in the machine and returns the combined output.
func (m *machine) run(timeout time.Duration, env []string, args ...string) (string, error) {
	if !m.running() {
		return "", fmt.Errorf("machine %s is not running", m.name)
	}
	return runWithTimeout(m.command(env, args...), timeout)
}

// mustRun is run with the tool timeout that fails the test on error.
func (m *machine) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := m.run(toolTimeout, nil, args...)
	if err != nil {
		t.Fatalf("in %s: %s: %v\n%s", m.name, strings.Join(args, " "), err, tail(out, 60))
	}
	return out
}

// sh runs a shell script in the machine; it must succeed.
func (m *machine) sh(t *testing.T, script string) string {
	t.Helper()
	return m.mustRun(t, "sh", "-c", script)
}

// path is p of the machine's own root as the host sees it. /usr, /run and
// the other mounts are not there: read those with run.
func (m *machine) path(p string) string { return filepath.Join(m.root, p) }

// addShared puts a file into the machine's share dir: a hard link to src
// when it can, else a copy. It returns the machine's path of the file.
func (m *machine) addShared(t *testing.T, name, src string) string {
	t.Helper()
	dst := filepath.Join(m.share, name)
	if err := os.Link(src, dst); err != nil {
		mustExec(t, "cp", "--preserve=mode", src, dst)
	}
	return machineShare + "/" + name
}

// logs is what a person debugging a failure looks at in the machine: its
// failed units or services, and kedge's log of each kedge service.
func (m *machine) logs() string {
	script := `systemctl --failed --no-pager; for u in $(systemctl list-units --all --no-legend --plain 'kedge*' | cut -d' ' -f1); do
	systemctl status --no-pager -n 0 "$u"; journalctl --no-pager -n 80 -u "$u"; done`
	if m.init == openrcInit {
		script = `rc-status --all; for f in /var/log/kedge*.log; do [ -e "$f" ] && { echo "== $f"; tail -n 80 "$f"; }; done`
	}
	out, err := m.run(diagnoseTimeout, nil, "sh", "-c", script)
	return fmt.Sprintf("%s%v", out, errOrEmpty(err))
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// cleanup logs the machine's state if the test failed, SIGKILLs its PID 1
// (which ends every process in it), waits for nspawn and removes what
// nspawn left on the host. The topology's cleanup, which runs after it,
// kills anything left in the node's cgroups and removes them.
func (m *machine) cleanup() {
	if m.owner.Failed() && m.running() {
		m.owner.Logf("machine %s:\n%s", m.name, tail(m.logs(), 200))
	}
	if m.running() {
		m.mu.Lock()
		leader := m.leader
		m.mu.Unlock()
		if leader > 0 {
			_ = syscall.Kill(leader, syscall.SIGKILL)
		}
		select {
		case <-m.exited:
		case <-time.After(15 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	}
	if m.notify != nil {
		m.notify.Close()
	}
	if m.owner.Failed() {
		m.owner.Logf("machine %s console tail:\n%s", m.name, tail(m.console.String(), 60))
	}
	if dir := os.Getenv("KEDGE_E2E_LOG_DIR"); dir != "" && m.cmd != nil {
		path := filepath.Join(dir, strings.ReplaceAll(m.owner.Name(), "/", "_")+"-"+m.name+"-console.log")
		if err := os.WriteFile(path, []byte(m.console.String()), 0o644); err != nil {
			m.owner.Logf("keeping the console log: %v", err)
		}
	}
	// Deepest first; a dir another nspawn still uses is not empty.
	for i := len(m.nspawnDirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(m.nspawnDirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTEMPTY) {
			m.owner.Logf("machine cleanup: %v", err)
		}
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// mustExec runs a command on the host; it must succeed.
func mustExec(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out.String(), 30))
	}
	return out.String()
}

// TestMachines proves the machine harness without kedge: both init
// systems boot in their test nodes, see their own cgroups writable and
// reach nothing off the test bridge, and leave nothing behind.
func TestMachines(t *testing.T) {
	// Registered first, so it runs after every other cleanup.
	hadNspawnDir := exists(nspawnDirsRoot)
	t.Cleanup(func() {
		info, _ := os.ReadFile("/proc/self/mountinfo")
		for _, line := range strings.Split(string(info), "\n") {
			if strings.Contains(line, "/TestMachines") || strings.Contains(line, nspawnDirsRoot) {
				t.Errorf("a machine left a mount on the host: %s", line)
			}
		}
		if !hadNspawnDir && exists(nspawnDirsRoot) {
			t.Errorf("%s is left on the host", nspawnDirsRoot)
		}
	})
	top := newTopology(t, 2)
	sd := bootMachine(t, top.Nodes[0], systemdInit)
	rc := bootMachine(t, top.Nodes[1], openrcInit)
	for _, m := range []*machine{sd, rc} {
		m.net.HasNoRouteOut(t)
		mustContain(t, m.name+" hostname", m.mustRun(t, "hostname"), m.name)
		mustContain(t, m.name+" address", m.mustRun(t, "ip", "-o", "-4", "addr", "show", "eth0"), m.net.IP.String())
		// A kubelet's cgroups: writable, and below the node's own.
		m.sh(t, "mkdir /sys/fs/cgroup/memory/kedge-test && rmdir /sys/fs/cgroup/memory/kedge-test")
		if got := m.mustRun(t, "ls", "-A", "/usr/local"); got != "" {
			t.Errorf("%s: /usr/local is not empty: %s", m.name, got)
		}
		// Nothing in a machine changes the host's kernel settings.
		for _, f := range []string{"/proc/sys/vm/overcommit_memory", "/sys/kernel/mm/transparent_hugepage/enabled"} {
			if out, err := m.run(time.Minute, nil, "sh", "-c", "cat "+f+" > "+f); err == nil {
				t.Errorf("%s: %s is writable: %s", m.name, f, out)
			}
		}
		mustContain(t, m.name+" cgroup of a command", m.mustRun(t, "cat", "/proc/self/cgroup"), ":memory:/\n")
	}
	mustContain(t, "systemd PID 1", sd.mustRun(t, "cat", "/proc/1/comm"), "systemd")
	mustContain(t, "openrc PID 1", rc.mustRun(t, "cat", "/proc/1/comm"), "openrc-init")
	if out, err := rc.run(time.Minute, nil, "sh", "-c", "command -v systemctl"); err == nil {
		t.Fatalf("the OpenRC machine has systemctl: %s", out)
	}
}
