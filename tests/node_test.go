//go:build e2e

package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kedge-io/kedge/tests/netns"
)

const (
	serverReadyLine = "kedge server is ready"
	agentReadyLine  = "kedge agent is ready"
	// apiPort is a server's apiserver port inside its own test node,
	// where nothing else can hold it.
	apiPort = 6443
)

// nodeSpec says which kedge a node runs, and where.
type nodeSpec struct {
	// agent runs `kedge agent`, whose flags must name the server and a
	// token (see joinAgent); otherwise `kedge server`.
	agent bool
	// net is the test node to run in. nil runs a server on the host as a
	// control plane alone, on loopback: nothing of a node touches the host.
	net *netns.Node
	// flags come after the harness's own, so they win.
	flags []string
}

// node is one kedge process, started and restarted with the same flags,
// with its own config file, data dir and run dir. In a test node it runs
// through netns.Node.Spawn, so every run shares one mount namespace and
// the node's containers live under its own cgroup root; the topology's
// cleanup kills them all and removes what they made.
type node struct {
	owner *testing.T  // cleanups are registered here
	net   *netns.Node // nil on the host
	agent bool
	// name labels the node's logs; in a test node it is also the
	// Kubernetes node name.
	name       string
	port       int // a server's apiserver port
	bin        string
	dir        string
	dataDir    string
	runDir     string
	kubeconfig string   // a server writes it
	registries string   // its registries.yaml, absent until a test writes it
	args       []string // after the binary: the mode, then flags

	cmd     *exec.Cmd
	exited  chan struct{}
	log     syncBuffer // every run's output, one after the other
	logFrom int        // where the current run's output starts in log
	runs    int
}

// newNode prepares, but does not start, a node as spec says. owner gets
// its temp dir and cleanup: a subtest's long name would make socket paths
// longer than Linux allows, so a shared cluster's nodes belong to the
// top-level test.
func newNode(owner *testing.T, spec nodeSpec) *node {
	owner.Helper()
	if spec.agent && spec.net == nil {
		owner.Fatal("an agent runs only in a test node (nodeSpec.net)")
	}
	dir := owner.TempDir()
	n := &node{
		owner: owner, net: spec.net, agent: spec.agent,
		bin: kedgeBin(owner), dir: dir,
		dataDir:    filepath.Join(dir, "data"),
		runDir:     filepath.Join(dir, "run"),
		kubeconfig: filepath.Join(dir, "kubeconfig.yaml"),
		registries: filepath.Join(dir, "registries.yaml"),
	}
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(owner, cfg, "") // empty, as the missing registries.yaml: keeps /etc/kedge out
	n.args = []string{n.mode(), "--config", cfg, "--data-dir", n.dataDir, "--run-dir", n.runDir, "--registries-file", n.registries}
	if n.net == nil {
		n.port = freePort(owner)
		n.name = fmt.Sprintf("host-%d", n.port)
		n.args = append(n.args, hostFlags(owner)...)
	} else {
		n.port, n.name = apiPort, n.net.Name
		n.args = append(n.args, n.netnsFlags(owner)...)
	}
	if !n.agent {
		n.args = append(n.args, "--write-kubeconfig", n.kubeconfig, "--https-listen-port", strconv.Itoa(n.port))
	}
	n.args = append(n.args, spec.flags...)
	owner.Cleanup(n.cleanup)
	return n
}

// newHostServer prepares a server on the host: the control plane only,
// on a free loopback port.
func newHostServer(t *testing.T, flags ...string) *node {
	t.Helper()
	return newNode(t, nodeSpec{flags: flags})
}

// newNetnsServer prepares a full server (control plane, containerd,
// kubelet, kube-proxy, flannel) alone in a topology of its own.
func newNetnsServer(t *testing.T, flags ...string) *node {
	t.Helper()
	return newNode(t, nodeSpec{net: newTopology(t, 1).Nodes[0], flags: flags})
}

// joinAgent prepares an agent in the test node in that joins server n;
// flags give the token.
func (n *node) joinAgent(owner *testing.T, in *netns.Node, flags ...string) *node {
	owner.Helper()
	return newNode(owner, nodeSpec{agent: true, net: in, flags: append([]string{"--server", n.apiURL()}, flags...)})
}

func (n *node) mode() string {
	if n.agent {
		return "agent"
	}
	return "server"
}

// hostFlags keep a server on the host to its control plane, on loopback.
func hostFlags(t *testing.T) []string {
	t.Helper()
	return []string{"--disable-agent", "--bind-address", "127.0.0.1", "--node-ip", hostIP(t)}
}

// netnsFlags keep the node's addresses, containers and DNS inside its
// test node.
func (n *node) netnsFlags(t *testing.T) []string {
	t.Helper()
	cgroupRoot, err := n.net.CgroupRoot()
	if err != nil {
		t.Fatalf("cgroup root for %s: %v", n.name, err)
	}
	// Pods with host DNS, CoreDNS among them, get the topology's own
	// resolver, never the host's.
	resolv := filepath.Join(n.dir, "resolv.conf")
	writeFile(t, resolv, "nameserver "+n.net.Resolver.String()+"\n")
	return []string{
		"--node-ip", n.net.IP.String(),
		"--node-name", n.name,
		"--kubelet-arg=cgroup-root=" + cgroupRoot,
		"--resolv-conf", resolv,
	}
}

// addImage copies an archive from KEDGE_IMAGES_DIR into the images dir
// that kedge imports from at start.
func (n *node) addImage(t *testing.T, name string) {
	t.Helper()
	src := os.Getenv("KEDGE_IMAGES_DIR")
	if src == "" {
		t.Fatal("KEDGE_IMAGES_DIR is not set; `make test-integration` exports it (dist/images/amd64)")
	}
	data, err := os.ReadFile(filepath.Join(src, name))
	if err != nil {
		t.Fatalf("test image: %v (built by `make images-amd64`)", err)
	}
	n.addImageFile(t, name, data)
}

func (n *node) addImageFile(t *testing.T, name string, data []byte) {
	t.Helper()
	writeFile(t, filepath.Join(n.dataDir, "agent", "images", name), string(data))
}

// command runs `kedge args...` where the node lives.
func (n *node) command(args ...string) (*exec.Cmd, error) {
	if n.net == nil {
		return exec.Command(n.bin, args...), nil
	}
	return n.net.Spawn(n.bin, args...)
}

// prepareMountNS sets up the test node's mount namespace, which its first
// Spawn does, so that a timed start measures kedge and not the harness.
func (n *node) prepareMountNS(t *testing.T) {
	t.Helper()
	begin := time.Now()
	if _, err := n.net.Spawn("true"); err != nil {
		t.Fatal(err)
	}
	t.Logf("node mount namespace ready in %s (not counted)", time.Since(begin).Round(time.Millisecond))
}

// start launches kedge; the node's cleanup stops it by PID if the test
// does not.
func (n *node) start(t *testing.T) {
	t.Helper()
	cmd, err := n.command(n.args...)
	if err != nil {
		t.Fatal(err)
	}
	n.runs++
	fmt.Fprintf(&n.log, "===== kedge run %d =====\n", n.runs)
	n.logFrom = len(n.log.String())
	cmd.Stdout, cmd.Stderr = &n.log, &n.log
	// containerd or a shim may inherit the output pipe and outlive kedge;
	// Wait must still return once kedge itself has exited.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(n.exited)
}

// startReady starts kedge and waits for its "is ready" log line: the API
// serves, or the agent has joined. The Node object turns Ready later.
func (n *node) startReady(t *testing.T) {
	t.Helper()
	n.start(t)
	line := serverReadyLine
	if n.agent {
		line = agentReadyLine
	}
	n.waitForLog(t, line, 120*time.Second)
}

func (n *node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// runLog is the output of the current (or last) run.
func (n *node) runLog() string { return n.log.String()[n.logFrom:] }

// waitForLog waits until the current run logged text.
func (n *node) waitForLog(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(n.runLog(), text) {
			return
		}
		if !n.running() {
			t.Fatalf("kedge exited (%v) before logging %q:\n%s", n.cmd.ProcessState, text, tail(n.runLog(), 60))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("kedge did not log %q within %s:\n%s", text, timeout, tail(n.runLog(), 60))
}

// stop sends SIGTERM and expects exit status 0. kedge is cmd.Process
// itself: Spawn does not fork.
func (n *node) stop(t *testing.T) {
	t.Helper()
	begin := time.Now()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.exited:
		t.Logf("kedge stopped %s after SIGTERM", time.Since(begin).Round(10*time.Millisecond))
	case <-time.After(90 * time.Second):
		t.Fatalf("kedge did not stop within 90s of SIGTERM:\n%s", tail(n.runLog(), 60))
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("kedge exited with %d after SIGTERM:\n%s", code, tail(n.runLog(), 60))
	}
}

// runOnce runs kedge with the node's flags plus extra to completion and
// returns its output and exit code. It is for start-ups that must fail:
// in a test node, a run that wrongly starts stays confined to it.
func (n *node) runOnce(t *testing.T, env []string, extra ...string) (string, int) {
	t.Helper()
	cmd, err := n.command(append(n.args[:len(n.args):len(n.args)], extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), env...)
	return runToExit(t, cmd, 90*time.Second)
}

// expectFailure is runOnce that wants a non-zero exit.
func (n *node) expectFailure(t *testing.T, env []string, extra ...string) string {
	t.Helper()
	out, code := n.runOnce(t, env, extra...)
	if code == 0 {
		t.Fatalf("kedge %s exited 0:\n%s", strings.Join(extra, " "), tail(out, 40))
	}
	return out
}

// expectEarlyFailure is expectFailure that also checks that neither
// containerd nor the control plane got as far as starting.
func (n *node) expectEarlyFailure(t *testing.T, env []string, extra ...string) string {
	t.Helper()
	out := n.expectFailure(t, env, extra...)
	for _, p := range []string{filepath.Join(n.runDir, "containerd"), n.kubeconfig} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists: kedge started things before rejecting its input:\n%s", p, tail(out, 40))
		}
	}
	return out
}

// cleanup dumps the cluster's state while it still answers if the test
// failed, then kills kedge by PID.
func (n *node) cleanup() {
	if n.owner.Failed() && n.running() {
		n.diagnose()
	}
	if n.running() {
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
	if n.runs == 0 {
		return // never started: no log
	}
	if n.owner.Failed() {
		n.owner.Logf("kedge log tail (%s):\n%s", n.name, tail(n.log.String(), 80))
		if b, err := os.ReadFile(filepath.Join(n.dataDir, "agent", "containerd", "containerd.log")); err == nil {
			n.owner.Logf("containerd log tail (%s):\n%s", n.name, tail(string(b), 20))
		}
	}
	n.keepLog()
}

// keepLog copies the whole kedge log into $KEDGE_E2E_LOG_DIR, when set,
// because a tail rarely shows the cause of a failure or a slow step.
func (n *node) keepLog() {
	dir := os.Getenv("KEDGE_E2E_LOG_DIR")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, strings.ReplaceAll(n.owner.Name(), "/", "_")+"-"+n.name+".log")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(path, []byte(n.log.String()), 0o644)
	}
	if err != nil {
		n.owner.Logf("keeping the kedge log: %v", err)
		return
	}
	n.owner.Logf("whole kedge log: %s", path)
}

// diagnose logs what a person debugging the failure would look at first:
// the cluster as a server sees it (an agent has no kubeconfig), and the
// containers of a test node (a server on the host runs none).
func (n *node) diagnose() {
	if !n.agent {
		n.diagnoseCluster()
	}
	if n.net != nil {
		out, err := n.tool(n.crictlEnv(), diagnoseTimeout, "crictl", "ps", "-a")
		n.owner.Logf("crictl ps -a: %v\n%s", err, out)
	}
}

// diagnoseTimeout bounds each diagnose command: a wedged apiserver must
// not stall cleanup.
const diagnoseTimeout = 30 * time.Second

func (n *node) diagnoseCluster() {
	for _, args := range [][]string{
		{"get", "nodes", "-o", "wide"},
		{"get", "pods", "-A", "-o", "wide"},
		// Every busybox workload has an app label, in whatever namespace.
		{"describe", "pods", "-A", "-l", "app"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"logs", "-n", "kube-system", "deployment/coredns", "--tail=40"},
		{"get", "configmap", "-n", "kube-system", "coredns", "-o", "yaml"},
	} {
		out, err := n.tool(n.kubectlEnv(), diagnoseTimeout, "kubectl", args...)
		n.owner.Logf("kubectl %s: %v\n%s", strings.Join(args, " "), err, tail(out, 120))
	}
}
