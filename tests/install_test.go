//go:build e2e

package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// installTimeout bounds one run of install.sh in a machine. A first start
// waits for kedge's READY=1 (Type=notify), a restart too.
const installTimeout = 5 * time.Minute

// installScript is scripts/install.sh of this repository.
func installScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "scripts", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("install script: %v", err)
	}
	return p
}

// installed is kedge as install.sh set it up in a machine.
type installed struct {
	m       *machine
	service string // kedge, kedge-agent
	// view reaches a server's apiserver from the test process with the
	// harness's client (apiURL, restConfig); it runs nothing itself.
	view *node
}

// install runs install.sh in the machine with env (the INSTALL_KEDGE_* and
// KEDGE_* variables) and args; it must succeed. It returns the output.
func (m *machine) install(t *testing.T, env []string, args ...string) string {
	t.Helper()
	begin := time.Now()
	out, err := m.run(installTimeout, env, append([]string{"sh", machineShare + "/install.sh"}, args...)...)
	if err != nil {
		t.Fatalf("install.sh in %s (%s): %v\n%s", m.name, strings.Join(env, " "), err, tail(out, 60))
	}
	t.Logf("install.sh in %s took %s", m.name, time.Since(begin).Round(100*time.Millisecond))
	if i := strings.Index(out, "[WARN]"); i >= 0 {
		t.Logf("install.sh warned:\n%s", out[i:])
	}
	return out
}

// serverView is a node that stands for the server a machine runs, for the
// harness's API client: its kubeconfig is the one kedge wrote in the
// machine, and it answers on the machine's address.
func serverView(t *testing.T, m *machine) *node {
	return &node{owner: t, net: m.net, name: m.name, port: apiPort,
		kubeconfig: m.path("/etc/kedge/kedge.yaml")}
}

// mainPID is the MainPID systemd has for service, "0" when it runs none.
func (m *machine) mainPID(t *testing.T, service string) string {
	t.Helper()
	return strings.TrimSpace(m.mustRun(t, "systemctl", "show", "-p", "MainPID", "--value", service))
}

// activationDelay is how long after its main process started systemd
// made service active.
func (m *machine) activationDelay(t *testing.T, service string) time.Duration {
	t.Helper()
	out := m.mustRun(t, "systemctl", "show", "-p", "ExecMainStartTimestampMonotonic", "-p", "ActiveEnterTimestampMonotonic", service)
	var start, active int64
	for _, line := range strings.Fields(out) {
		k, v, _ := strings.Cut(line, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("systemctl show %s: %q", service, out)
		}
		switch k {
		case "ExecMainStartTimestampMonotonic":
			start = n
		case "ActiveEnterTimestampMonotonic":
			active = n
		}
	}
	if start == 0 || active == 0 {
		t.Fatalf("systemctl show %s: %q", service, out)
	}
	return time.Duration(active-start) * time.Microsecond
}

// podRun is what shows that a pod kept running: the pod object and the
// container in it.
type podRun struct{ uid, containerID string }

// waitPodRunning waits until pod ns/name runs its one container.
func waitPodRunning(t *testing.T, c *kubernetes.Clientset, ns, name string) podRun {
	t.Helper()
	var pod *corev1.Pod
	var err error
	ok := poll(3*time.Minute, 2*time.Second, func() bool {
		pod, err = c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && pod.Status.Phase == corev1.PodRunning && len(pod.Status.ContainerStatuses) == 1 &&
			pod.Status.ContainerStatuses[0].State.Running != nil
	})
	if !ok {
		state := fmt.Sprint(err)
		if pod != nil {
			state = podSummary([]corev1.Pod{*pod})
		}
		t.Fatalf("pod %s/%s not running: %s", ns, name, state)
	}
	cs := pod.Status.ContainerStatuses[0]
	if cs.RestartCount != 0 {
		t.Fatalf("pod %s/%s: container restarted %d times", ns, name, cs.RestartCount)
	}
	return podRun{uid: string(pod.UID), containerID: strings.TrimPrefix(cs.ContainerID, "containerd://")}
}

// expectPodKept checks that pod ns/name is the same pod with the same
// container as before, and that containerd in the machine runs it.
func (in *installed) expectPodKept(t *testing.T, ns, name string, before podRun) {
	t.Helper()
	after := waitPodRunning(t, in.view.client(t), ns, name)
	if after != before {
		t.Fatalf("pod %s/%s was replaced: before %+v, after %+v", ns, name, before, after)
	}
	out := in.m.mustRun(t, "crictl", "ps", "--state", "Running", "--id", before.containerID, "-q")
	if !strings.Contains(out, before.containerID) {
		t.Fatalf("container %s of %s is not running in containerd:\n%s", before.containerID, name, out)
	}
}

// kedgeLeftovers lists what of kedge is still in a machine after
// uninstall: files, unit files, mounts, network links, netfilter rules
// and processes. Each check prints one line per thing left; a clean
// machine prints nothing.
const kedgeLeftovers = `
for f in /etc/kedge /var/lib/kedge /run/kedge /run/flannel /var/lib/cni /etc/cni /opt/cni \
	/usr/local/bin/kedge /usr/local/bin/kubectl /usr/local/bin/crictl /usr/local/bin/ctr \
	/usr/local/bin/kedge-killall.sh /usr/local/bin/$SERVICE-uninstall.sh \
	/etc/systemd/system/$SERVICE.service /etc/systemd/system/$SERVICE.service.env \
	/etc/systemd/system/multi-user.target.wants/$SERVICE.service \
	/etc/init.d/$SERVICE /etc/init.d/$SERVICE.env /etc/logrotate.d/$SERVICE /etc/runlevels/default/$SERVICE \
	/var/log/$SERVICE.log /var/log/pods /var/log/containers; do
	if [ -d "$f" ] && ! [ -L "$f" ]; then echo "dir: $f ($(ls -A "$f" | head -n 5 | tr '\n' ' '))"
	elif [ -e "$f" ] || [ -L "$f" ]; then echo "file: $f"; fi
done
if command -v systemctl >/dev/null; then
	systemctl list-unit-files --no-legend "$SERVICE*" | sed 's/^/unit file: /'
	systemctl list-units --all --no-legend --plain "$SERVICE*" | grep -v ' not-found ' | sed 's/^/unit: /'
fi
awk '{ for (i = 7; i < NF; i++) if ($i == "-") { fs = $(i + 1); break } }
	$5 ~ "^(/var/lib/kedge|/run/kedge|/run/netns|/var/lib/kubelet|/run/containerd)(/|$)" || (fs == "overlay" && $5 != "/usr") { print "mount: " $5 " (" fs ")" }' /proc/self/mountinfo
ip -o link | awk -F': ' '$2 ~ /^(cni0|flannel|veth|kube-)/ { print "link: " $2 }'
for save in iptables-nft-save ip6tables-nft-save iptables-legacy-save ip6tables-legacy-save; do
	command -v $save >/dev/null && $save 2>/dev/null | grep -iE 'KUBE-|FLANNEL|CNI-|KEDGE' | sed "s/^/$save: /"
done
for p in kedge containerd containerd-shim pause sleep; do
	pgrep -x "$p" >/dev/null && echo "process: $p $(pgrep -x "$p" | tr '\n' ' ')"
done
true`

// expectUninstalled runs the service's uninstall script and checks that
// nothing of kedge is left.
func (in *installed) expectUninstalled(t *testing.T) {
	t.Helper()
	out := in.m.mustRun(t, "/usr/local/bin/"+in.service+"-uninstall.sh")
	t.Logf("%s-uninstall.sh:\n%s", in.service, tail(out, 40))
	left, err := in.m.run(toolTimeout, []string{"SERVICE=" + in.service}, "sh", "-c", kedgeLeftovers)
	if err != nil || strings.TrimSpace(left) != "" {
		t.Fatalf("left behind in %s after %s-uninstall.sh (%v):\n%s", in.m.name, in.service, err, left)
	}
}

// changedBinary is a copy of the kedge binary with one byte appended: a
// different file (another sha256) that runs the same, as an upgrade
// would be.
func changedBinary(t *testing.T, bin string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "kedge-changed")
	src, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestInstall is issue 12's scenario on real init systems: install.sh
// sets up a server on a systemd machine and an agent on an OpenRC machine
// that joins it, both from a local binary, in two test nodes with no route
// out. The server's service is ready when systemctl start returns, runs a
// pod, gives a working kubectl symlink, is left alone by a rerun, and
// restarts on an upgrade and on `systemctl restart` with its pod still
// running. The agent runs under supervise-daemon, which respawns a killed
// kedge. Both uninstall without a trace.
func TestInstall(t *testing.T) {
	bin := kedgeBin(t)
	script := installScript(t)
	top := newTopology(t, 2)
	srvM := bootMachine(t, top.Nodes[0], systemdInit)
	agtM := bootMachine(t, top.Nodes[1], openrcInit)
	for _, m := range []*machine{srvM, agtM} {
		m.addShared(t, "install.sh", script)
		m.addShared(t, "kedge", bin)
	}
	srv := &installed{m: srvM, service: "kedge", view: serverView(t, srvM)}
	agt := &installed{m: agtM, service: "kedge-agent"}
	t.Cleanup(func() {
		if t.Failed() && srvM.running() {
			for _, args := range [][]string{{"get", "nodes", "-o", "wide"}, {"get", "pods", "-A", "-o", "wide"}, {"get", "events", "-A"}} {
				out, err := srvM.run(diagnoseTimeout, nil, append([]string{"kubectl"}, args...)...)
				t.Logf("kubectl %s in %s: %v\n%s", strings.Join(args, " "), srvM.name, err, tail(out, 60))
			}
		}
	})

	srvEnv := []string{
		"INSTALL_KEDGE_BIN=" + machineShare + "/kedge",
		"INSTALL_KEDGE_EXEC=server --node-ip " + srvM.net.IP.String() + " " + strings.Join(noPackaged, " "),
	}
	const ns, podName = "default", "survivor"
	var pod podRun

	// Both machines are hosts kedge accepts: install.sh runs check-config
	// too, but only warns.
	for _, m := range []*machine{srvM, agtM} {
		m.mustRun(t, machineShare+"/kedge", "check-config")
	}

	ok := t.Run("server install is active once ready", func(t *testing.T) {
		since := time.Now()
		out := srvM.install(t, srvEnv)
		mustContain(t, "install.sh", out, "starting kedge")
		// Type=notify: systemctl start returned after kedge's READY=1.
		if got := strings.TrimSpace(srvM.mustRun(t, "systemctl", "is-active", "kedge")); got != "active" {
			t.Fatalf("systemctl is-active kedge = %q right after install", got)
		}
		mustContain(t, "unit", srvM.mustRun(t, "systemctl", "show", "-p", "Type,KillMode,Restart,Delegate", "kedge"),
			"Type=notify", "KillMode=process", "Restart=always", "Delegate=yes")
		// systemd made it active at READY=1, seconds after starting it, not
		// when the process started.
		if wait := srvM.activationDelay(t, "kedge"); wait < 2*time.Second {
			t.Fatalf("kedge was active %s after it started: not on its READY=1", wait)
		} else {
			t.Logf("kedge sent READY=1 %s after it started", wait.Round(100*time.Millisecond))
		}
		if got := strings.TrimSpace(srvM.mustRun(t, "systemctl", "is-enabled", "kedge")); got != "enabled" {
			t.Errorf("systemctl is-enabled kedge = %q", got)
		}
		waitReadyIn(t, srv.view.client(t), srvM.name, since, 3*time.Minute, func() {})
	})
	if !ok {
		t.FailNow()
	}

	t.Run("pod runs", func(t *testing.T) {
		manifest := srvM.path("/root/survivor.yaml")
		writeFile(t, manifest, yamlOf(t, busybox{name: podName, node: srvM.name, command: []string{"sleep", "100000"}}.pod()))
		srvM.mustRun(t, "kubectl", "apply", "-f", "/root/survivor.yaml")
		pod = waitPodRunning(t, srv.view.client(t), ns, podName)
	})

	t.Run("kubectl symlink", func(t *testing.T) {
		if got := strings.TrimSpace(srvM.mustRun(t, "readlink", "/usr/local/bin/kubectl")); got != "/usr/local/bin/kedge" {
			t.Fatalf("/usr/local/bin/kubectl -> %q", got)
		}
		out := srvM.mustRun(t, "kubectl", "get", "nodes")
		if line := lineWith(out, srvM.name, " Ready"); line == "" {
			t.Fatalf("kubectl get nodes in the machine:\n%s", out)
		}
	})

	t.Run("rerun changes nothing", func(t *testing.T) {
		before := srvM.mainPID(t, "kedge")
		out := srvM.install(t, srvEnv)
		mustContain(t, "install.sh rerun", out, "kedge binary unchanged", "nothing changed: not restarting")
		if after := srvM.mainPID(t, "kedge"); after != before {
			t.Fatalf("MainPID %s -> %s: the rerun restarted kedge", before, after)
		}
	})

	t.Run("agent on OpenRC joins", func(t *testing.T) {
		token := strings.TrimSpace(readFile(t, srvM.path("/var/lib/kedge/server/token")))
		since := time.Now()
		out := agtM.install(t, []string{
			"INSTALL_KEDGE_BIN=" + machineShare + "/kedge",
			"KEDGE_URL=" + srv.view.apiURL(), "KEDGE_TOKEN=" + token,
			"INSTALL_KEDGE_EXEC=--node-ip " + agtM.net.IP.String(),
		})
		mustContain(t, "agent install.sh", out, "(openrc)", "starting kedge-agent")
		mustContain(t, "rc-service status", agtM.mustRun(t, "rc-service", "kedge-agent", "status"), "started")
		if mode := strings.TrimSpace(agtM.mustRun(t, "stat", "-c", "%a", "/etc/init.d/kedge-agent.env")); mode != "600" {
			t.Errorf("/etc/init.d/kedge-agent.env has mode %s, want 600: it holds the token", mode)
		}
		mustContain(t, "rc-update show default", agtM.mustRun(t, "rc-update", "show", "default"), "kedge-agent")
		waitReadyIn(t, srv.view.client(t), agtM.name, since, 3*time.Minute, func() {})
	})

	t.Run("supervise-daemon respawns a killed agent", func(t *testing.T) {
		old := agt.openrcPID(t)
		logFile := agtM.path("/var/log/kedge-agent.log")
		readies := strings.Count(readFile(t, logFile), agentReadyLine)
		since := time.Now()
		agtM.mustRun(t, "kill", "-9", old)
		var now string
		if !poll(time.Minute, 500*time.Millisecond, func() bool { now = agt.openrcPIDOrEmpty(t); return now != "" && now != old }) {
			t.Fatalf("kedge (pid %s) was not respawned:\n%s", old, agtM.logs())
		}
		t.Logf("kedge pid %s killed, respawned as %s after %s", old, now, time.Since(since).Round(100*time.Millisecond))
		// The new kedge joins again: its own "is ready" line, then the node.
		if !poll(2*time.Minute, time.Second, func() bool { return strings.Count(readFile(t, logFile), agentReadyLine) > readies }) {
			t.Fatalf("the respawned kedge did not log %q:\n%s", agentReadyLine, tail(readFile(t, logFile), 40))
		}
		waitReadyIn(t, srv.view.client(t), agtM.name, since, 3*time.Minute, func() {})
	})

	t.Run("rc-service stop and start", func(t *testing.T) {
		agtM.mustRun(t, "rc-service", "kedge-agent", "stop")
		out, _ := agtM.run(time.Minute, nil, "rc-service", "kedge-agent", "status")
		mustContain(t, "status after stop", out, "stopped")
		if pids, err := agtM.run(time.Minute, nil, "pgrep", "-x", "kedge"); err == nil {
			t.Fatalf("kedge still runs after rc-service stop: %s", pids)
		}
		since := time.Now()
		agtM.mustRun(t, "rc-service", "kedge-agent", "start")
		waitReadyIn(t, srv.view.client(t), agtM.name, since, 3*time.Minute, func() {})
	})

	t.Run("agent uninstall leaves nothing", agt.expectUninstalled)

	t.Run("upgrade restarts and keeps the pod", func(t *testing.T) {
		if pod.uid == "" {
			t.Skip("no pod to keep")
		}
		before := srvM.mainPID(t, "kedge")
		newBin := srvM.addShared(t, "kedge-changed", changedBinary(t, bin))
		env := append([]string{"INSTALL_KEDGE_BIN=" + newBin}, srvEnv[1:]...)
		since := time.Now()
		out := srvM.install(t, env)
		mustContain(t, "install.sh upgrade", out, "installed kedge binary", "restarting kedge")
		if after := srvM.mainPID(t, "kedge"); after == before || after == "0" {
			t.Fatalf("MainPID %s -> %s: the upgrade did not restart kedge", before, after)
		}
		waitReadyIn(t, srv.view.client(t), srvM.name, since, 3*time.Minute, func() {})
		srv.expectPodKept(t, ns, podName, pod)
	})

	t.Run("systemctl restart keeps the pod", func(t *testing.T) {
		if pod.uid == "" {
			t.Skip("no pod to keep")
		}
		before := srvM.mainPID(t, "kedge")
		since := time.Now()
		srvM.mustRun(t, "systemctl", "restart", "kedge")
		if after := srvM.mainPID(t, "kedge"); after == before || after == "0" {
			t.Fatalf("MainPID %s -> %s after systemctl restart", before, after)
		}
		waitReadyIn(t, srv.view.client(t), srvM.name, since, 3*time.Minute, func() {})
		srv.expectPodKept(t, ns, podName, pod)
	})

	t.Run("server uninstall leaves nothing", srv.expectUninstalled)
}

// openrcPID is the kedge that supervise-daemon runs for the service.
func (in *installed) openrcPID(t *testing.T) string {
	t.Helper()
	pid := in.openrcPIDOrEmpty(t)
	if pid == "" {
		t.Fatalf("no kedge under supervise-daemon for %s:\n%s", in.service, in.m.logs())
	}
	return pid
}

func (in *installed) openrcPIDOrEmpty(t *testing.T) string {
	t.Helper()
	out, _ := in.m.run(time.Minute, nil, "sh", "-c",
		fmt.Sprintf("pgrep -x -P \"$(cat /run/%s.pid)\" kedge", in.service))
	return strings.TrimSpace(out)
}

// hostInstall runs install.sh on this host with a clean environment (PATH
// and HOME, then env), so no KEDGE_* variable of the test run reaches it.
func hostInstall(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{installScript(t)}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C"}, env...)
	return runToExit(t, cmd, 2*time.Minute)
}

// releaseArch is the name install.sh gives this host's arch in a release.
func releaseArch() string {
	if runtime.GOARCH == "arm" {
		return "armv7"
	}
	return runtime.GOARCH
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// listDir names what is in dir, "" when it is empty or absent.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// toolsDir makes a directory of symlinks to the host's tools named, for a
// PATH that lacks the others (systemctl, say).
func toolsDir(t *testing.T, tools ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestInstallScriptInput runs install.sh on this host, only writing files
// into temp dirs (INSTALL_KEDGE_SKIP_ENABLE/START, INSTALL_KEDGE_BIN_DIR,
// INSTALL_KEDGE_SYSTEMD_DIR): good input writes the files a service needs,
// and each bad input fails before anything is installed, saying why.
func TestInstallScriptInput(t *testing.T) {
	bin := kedgeBin(t)
	// files is the state of an install's temp dirs.
	type dirs struct{ bin, systemd string }
	newDirs := func(t *testing.T) dirs {
		d := t.TempDir()
		return dirs{bin: filepath.Join(d, "bin"), systemd: filepath.Join(d, "systemd")}
	}
	envFor := func(d dirs, extra ...string) []string {
		return append([]string{"INSTALL_KEDGE_SKIP_ENABLE=true", "INSTALL_KEDGE_SKIP_START=true",
			"INSTALL_KEDGE_BIN_DIR=" + d.bin, "INSTALL_KEDGE_SYSTEMD_DIR=" + d.systemd}, extra...)
	}
	expectFail := func(t *testing.T, env []string, wants ...string) string {
		t.Helper()
		out, code := hostInstall(t, env)
		if code == 0 {
			t.Fatalf("install.sh exited 0:\n%s", tail(out, 30))
		}
		mustContain(t, "install.sh", out, wants...)
		return out
	}

	t.Run("server files", func(t *testing.T) {
		d := newDirs(t)
		out, code := hostInstall(t, envFor(d, "INSTALL_KEDGE_BIN="+bin, "INSTALL_KEDGE_SYMLINK=force"), "--disable", "traefik")
		if code != 0 {
			t.Fatalf("install.sh exited %d:\n%s", code, tail(out, 30))
		}
		if got, want := sha256File(t, filepath.Join(d.bin, "kedge")), sha256File(t, bin); got != want {
			t.Fatalf("installed kedge has sha256 %s, want %s", got, want)
		}
		for _, tool := range []string{"kubectl", "crictl", "ctr"} {
			if target, err := os.Readlink(filepath.Join(d.bin, tool)); err != nil || target != filepath.Join(d.bin, "kedge") {
				t.Errorf("%s -> %q %v", tool, target, err)
			}
		}
		unit := readFile(t, filepath.Join(d.systemd, "kedge.service"))
		mustContain(t, "kedge.service", unit, "Type=notify", "KillMode=process", "Restart=always", "Delegate=yes",
			"ExecStart="+filepath.Join(d.bin, "kedge")+" \\\n\tserver \\\n\t--disable \\\n\ttraefik")
		for _, f := range []string{"kedge-killall.sh", "kedge-uninstall.sh"} {
			if fi, err := os.Stat(filepath.Join(d.bin, f)); err != nil || fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("%s: %v %v", f, fi, err)
			}
		}
	})

	t.Run("an existing kubectl is kept unless forced", func(t *testing.T) {
		d := newDirs(t)
		own := t.TempDir()
		writeFile(t, filepath.Join(own, "kubectl"), "#!/bin/sh\n")
		if err := os.Chmod(filepath.Join(own, "kubectl"), 0o755); err != nil {
			t.Fatal(err)
		}
		env := append(envFor(d, "INSTALL_KEDGE_BIN="+bin), "PATH="+own+":"+os.Getenv("PATH"))
		out, code := hostInstall(t, env)
		if code != 0 {
			t.Fatalf("install.sh exited %d:\n%s", code, tail(out, 30))
		}
		mustContain(t, "install.sh", out, "kubectl: "+filepath.Join(own, "kubectl")+" is already on PATH")
		if _, err := os.Lstat(filepath.Join(d.bin, "kubectl")); err == nil {
			t.Fatalf("install.sh linked kubectl beside the one on PATH")
		}
		out, code = hostInstall(t, append(env, "INSTALL_KEDGE_SYMLINK=force"))
		if target, err := os.Readlink(filepath.Join(d.bin, "kubectl")); code != 0 || err != nil || target != filepath.Join(d.bin, "kedge") {
			t.Fatalf("with force: exit %d, kubectl -> %q %v\n%s", code, target, err, tail(out, 30))
		}
	})

	t.Run("agent env file is private", func(t *testing.T) {
		d := newDirs(t)
		out, code := hostInstall(t, envFor(d, "INSTALL_KEDGE_BIN="+bin,
			"KEDGE_URL=https://127.0.0.1:6443", "KEDGE_TOKEN=K10secret::server:secret"))
		if code != 0 {
			t.Fatalf("install.sh exited %d:\n%s", code, tail(out, 30))
		}
		env := filepath.Join(d.systemd, "kedge-agent.service.env")
		fi, err := os.Stat(env)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", env, fi.Mode().Perm())
		}
		mustContain(t, "env file", readFile(t, env), `KEDGE_TOKEN="K10secret::server:secret"`, `KEDGE_URL="https://127.0.0.1:6443"`)
		if unit := readFile(t, filepath.Join(d.systemd, "kedge-agent.service")); strings.Contains(unit, "secret") {
			t.Errorf("the unit, readable by all, holds the token:\n%s", unit)
		}
	})

	t.Run("unknown arch", func(t *testing.T) {
		d := newDirs(t)
		fake := t.TempDir()
		writeFile(t, filepath.Join(fake, "uname"), "#!/bin/sh\necho mips64\n")
		if err := os.Chmod(filepath.Join(fake, "uname"), 0o755); err != nil {
			t.Fatal(err)
		}
		env := append(envFor(d, "INSTALL_KEDGE_BIN="+bin), "PATH="+fake+":"+os.Getenv("PATH"))
		expectFail(t, env, "unsupported architecture 'mips64'")
		if got := listDir(t, d.bin) + listDir(t, d.systemd); got != "" {
			t.Fatalf("a failed install wrote %s", got)
		}
	})

	t.Run("release checksum", func(t *testing.T) {
		rel := t.TempDir()
		name := "kedge-" + releaseArch()
		// A small stand-in for the release binary: no kedge runs here.
		writeFile(t, filepath.Join(rel, name), "#!/bin/sh\necho kedge from the release\n")
		sum := sha256File(t, filepath.Join(rel, name))
		d := newDirs(t)
		old := "#!/bin/sh\necho the installed kedge\n"
		writeFile(t, filepath.Join(d.bin, "kedge"), old)

		writeFile(t, filepath.Join(rel, "SHA256SUMS"), strings.Repeat("0", 64)+"  "+name+"\n")
		expectFail(t, envFor(d, "INSTALL_KEDGE_URL=file://"+rel), "checksum mismatch", sum)
		if got := readFile(t, filepath.Join(d.bin, "kedge")); got != old {
			t.Fatalf("a failed checksum changed the installed binary to %q", got)
		}
		if got := listDir(t, d.bin); got != "kedge" {
			t.Fatalf("a failed checksum left %s in the bin dir", got)
		}
		if got := listDir(t, d.systemd); got != "" {
			t.Fatalf("a failed checksum wrote %s", got)
		}

		writeFile(t, filepath.Join(rel, "SHA256SUMS"), sum+"  "+name+"\n")
		out, code := hostInstall(t, envFor(d, "INSTALL_KEDGE_URL=file://"+rel))
		if code != 0 {
			t.Fatalf("install.sh with a matching SHA256SUMS exited %d:\n%s", code, tail(out, 30))
		}
		mustContain(t, "install.sh", out, "verified "+name)
		if got := sha256File(t, filepath.Join(d.bin, "kedge")); got != sum {
			t.Fatalf("installed %s, want the release's %s", got, sum)
		}
	})

	t.Run("KEDGE_URL without a token", func(t *testing.T) {
		d := newDirs(t)
		expectFail(t, envFor(d, "INSTALL_KEDGE_BIN="+bin, "KEDGE_URL=https://127.0.0.1:6443"), "KEDGE_TOKEN or KEDGE_TOKEN_FILE")
		if got := listDir(t, d.bin) + listDir(t, d.systemd); got != "" {
			t.Fatalf("a failed install wrote %s", got)
		}
	})

	t.Run("KEDGE_URL not https", func(t *testing.T) {
		d := newDirs(t)
		expectFail(t, envFor(d, "INSTALL_KEDGE_BIN="+bin, "KEDGE_URL=http://127.0.0.1:6443", "KEDGE_TOKEN=x"),
			"KEDGE_URL must be an https:// URL", "http://127.0.0.1:6443")
		if got := listDir(t, d.bin) + listDir(t, d.systemd); got != "" {
			t.Fatalf("a failed install wrote %s", got)
		}
	})

	t.Run("unwritable bin dir", func(t *testing.T) {
		d := newDirs(t)
		// Root writes into any mode; an immutable directory stops it too.
		if err := os.MkdirAll(d.bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chattr", "+i", d.bin).CombinedOutput(); err != nil {
			t.Fatalf("chattr +i %s (e2fsprogs; the temp dir must be on ext4 or the like): %v %s", d.bin, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", d.bin).Run() })
		expectFail(t, envFor(d, "INSTALL_KEDGE_BIN="+bin), "cannot write to the bin dir "+d.bin)
		if got := listDir(t, d.systemd); got != "" {
			t.Fatalf("a failed install wrote %s", got)
		}
	})

	t.Run("neither init system", func(t *testing.T) {
		for _, p := range []string{"/sbin/openrc-run", "/run/systemd/system"} {
			if _, err := os.Stat(p); err == nil {
				t.Skipf("this host has %s", p)
			}
		}
		d := newDirs(t)
		// The tools install.sh uses up to choosing the init system; no
		// systemctl among them.
		path := toolsDir(t, "awk", "sed", "uname", "mkdir", "rm", "cat", "grep", "tail", "head", "sort", "tr", "env")
		env := []string{"INSTALL_KEDGE_SKIP_ENABLE=true", "INSTALL_KEDGE_SKIP_START=true",
			"INSTALL_KEDGE_BIN_DIR=" + d.bin, "INSTALL_KEDGE_BIN=" + bin, "PATH=" + path}
		expectFail(t, env, "found neither OpenRC", "nor systemd")
		if got := listDir(t, d.bin); got != "" {
			t.Fatalf("a failed install wrote %s", got)
		}
	})
}
