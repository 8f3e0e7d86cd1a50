//go:build e2e

package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kedge-io/kedge/tests/netns"
)

// apiPort is the apiserver's port inside the node's own network namespace,
// where nothing else can hold it.
const apiPort = 6443

// agentNode is a full kedge server (control plane, containerd, kubelet,
// kube-proxy, flannel) in a network namespace the test created, with no
// route out. kedge runs through netns.Node.Spawn, so every run shares one
// mount namespace and the node's containers live under its own cgroup
// root; the topology's cleanup kills them all and removes what they made.
type agentNode struct {
	t          *testing.T // owner: cleanups are registered here
	net        *netns.Node
	dir        string
	dataDir    string
	runDir     string
	kubeconfig string
	args       []string

	cmd     *exec.Cmd
	exited  chan struct{}
	log     syncBuffer // every run's output, one after the other
	logFrom int        // where the current run's output starts in log
	runs    int
}

// newAgentNode prepares (but does not start) a node in a fresh one-node
// topology; extra flags are appended to `kedge server`.
func newAgentNode(t *testing.T, extra ...string) *agentNode {
	t.Helper()
	requireAgentHost(t)
	// Cleanups run last-registered first: kedge is killed, then the
	// topology kills what is left and removes cgroups, links and
	// namespaces, then kernel settings return, and only then the files go.
	keepKernelTunables(t)
	return newClusterNode(t, netns.New(t, 1).Nodes[0], "server", extra...)
}

// newClusterNode prepares `kedge server` or `kedge agent` (mode) in a node of a
// topology the caller made, with its own data dir, run dir and kubelet
// cgroup root. Only a server writes a kubeconfig.
func newClusterNode(t *testing.T, node *netns.Node, mode string, extra ...string) *agentNode {
	t.Helper()
	// Absolute: nsenter starts the program from the namespace's root.
	bin, err := filepath.Abs(kedgeBin(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cgroupRoot, err := node.CgroupRoot()
	if err != nil {
		t.Fatalf("cgroup root for %s: %v", node.Name, err)
	}
	a := &agentNode{
		t: t, net: node, dir: dir,
		dataDir:    filepath.Join(dir, "data"),
		runDir:     filepath.Join(dir, "run"),
		kubeconfig: filepath.Join(dir, "kubeconfig.yaml"),
	}
	cfg := filepath.Join(dir, "config.yaml") // empty: keeps /etc/kedge out
	writeFile(t, cfg, "")
	// Pods with host DNS, CoreDNS among them, get the topology's own
	// resolver, never the host's.
	resolv := filepath.Join(dir, "resolv.conf")
	writeFile(t, resolv, "nameserver "+node.Resolver.String()+"\n")
	a.args = []string{bin, mode,
		"--config", cfg,
		"--data-dir", a.dataDir,
		"--run-dir", a.runDir,
		"--node-ip", node.IP.String(),
		"--node-name", node.Name,
		"--kubelet-arg=cgroup-root=" + cgroupRoot,
		"--resolv-conf", resolv,
	}
	if mode == "server" {
		a.args = append(a.args, "--write-kubeconfig", a.kubeconfig, "--https-listen-port", fmt.Sprint(apiPort))
	}
	a.args = append(a.args, extra...)
	t.Cleanup(a.cleanup)
	return a
}

// requireAgentHost skips without root (namespaces, cgroups, mounts) and
// fails when a tool the harness drives is missing.
func requireAgentHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs a node in its own network and mount namespaces")
	}
	for _, tool := range []string{"ip", "nsenter", "unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian packages iproute2, util-linux, mount)", tool)
		}
	}
}

// addImage copies an archive from KEDGE_IMAGES_DIR into the images dir
// that kedge imports from at start.
func (a *agentNode) addImage(t *testing.T, name string) {
	t.Helper()
	src := os.Getenv("KEDGE_IMAGES_DIR")
	if src == "" {
		t.Fatal("KEDGE_IMAGES_DIR is not set; `make test-integration` exports it (dist/images/amd64)")
	}
	data, err := os.ReadFile(filepath.Join(src, name))
	if err != nil {
		t.Fatalf("test image: %v (built by `make images-amd64`)", err)
	}
	a.addImageFile(t, name, data)
}

func (a *agentNode) addImageFile(t *testing.T, name string, data []byte) {
	t.Helper()
	writeFile(t, filepath.Join(a.dataDir, "agent", "images", name), string(data))
}

// start launches kedge in the node's namespaces.
func (a *agentNode) start(t *testing.T) {
	t.Helper()
	cmd, err := a.net.Spawn(a.args[0], a.args[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	a.runs++
	fmt.Fprintf(&a.log, "===== kedge run %d =====\n", a.runs)
	a.logFrom = len(a.log.String())
	cmd.Stdout, cmd.Stderr = &a.log, &a.log
	// containerd or a shim may inherit the output pipe and outlive kedge;
	// Wait must still return once kedge itself has exited.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.cmd, a.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(a.exited)
}

func (a *agentNode) running() bool {
	if a.cmd == nil {
		return false
	}
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// runLog is the output of the current (or last) run.
func (a *agentNode) runLog() string { return a.log.String()[a.logFrom:] }

// waitForLog waits until the current run logged text.
func (a *agentNode) waitForLog(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(a.runLog(), text) {
			return
		}
		if !a.running() {
			t.Fatalf("kedge exited (%v) before logging %q:\n%s", a.cmd.ProcessState, text, tail(a.runLog(), 60))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("kedge did not log %q within %s:\n%s", text, timeout, tail(a.runLog(), 60))
}

// stop sends SIGTERM (kedge is cmd.Process itself: Spawn does not fork)
// and expects exit status 0.
func (a *agentNode) stop(t *testing.T) {
	t.Helper()
	begin := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.exited:
		t.Logf("kedge stopped %s after SIGTERM", time.Since(begin).Round(10*time.Millisecond))
	case <-time.After(90 * time.Second):
		t.Fatalf("kedge did not stop within 90s of SIGTERM:\n%s", tail(a.runLog(), 60))
	}
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("kedge exited with %d after SIGTERM:\n%s", code, tail(a.runLog(), 60))
	}
}

// runOnce runs `kedge server` (plus extra flags) in the node to
// completion and returns its output and exit code. It is for start-ups
// that must fail: running in the node confines a run that wrongly starts.
func (a *agentNode) runOnce(t *testing.T, env []string, extra ...string) (string, int) {
	t.Helper()
	cmd, err := a.net.Spawn(a.args[0], append(a.args[1:len(a.args):len(a.args)], extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), env...)
	out, err := runWithTimeout(cmd, 90*time.Second)
	if cmd.ProcessState == nil || !cmd.ProcessState.Exited() {
		// Killed by our timeout or crashed: neither is a clean rejection.
		t.Fatalf("kedge %s: %v\n%s", strings.Join(extra, " "), err, tail(out, 60))
	}
	return out, cmd.ProcessState.ExitCode()
}

// cleanup dumps the cluster's state while it still answers if the test
// failed, then kills kedge by PID.
func (a *agentNode) cleanup() {
	if a.t.Failed() && a.running() {
		a.diagnose()
	}
	if a.running() {
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
	if a.t.Failed() {
		a.t.Logf("kedge log tail (%s):\n%s", a.net.Name, tail(a.log.String(), 80))
	}
	a.keepLog()
}

// keepLog copies the whole kedge log into $KEDGE_E2E_LOG_DIR, when set,
// because a tail rarely shows the cause of a failure or a slow step.
func (a *agentNode) keepLog() {
	dir := os.Getenv("KEDGE_E2E_LOG_DIR")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, strings.ReplaceAll(a.t.Name(), "/", "_")+"-"+a.net.Name+".log")
	if err := os.WriteFile(path, []byte(a.log.String()), 0o644); err != nil {
		a.t.Logf("keeping the kedge log: %v", err)
		return
	}
	a.t.Logf("whole kedge log: %s", path)
}

// diagnose logs what a person debugging the failure would look at first.
func (a *agentNode) diagnose() {
	const timeout = 30 * time.Second // a wedged apiserver must not stall cleanup
	for _, args := range [][]string{
		{"get", "nodes", "-o", "wide"},
		{"get", "pods", "-A", "-o", "wide"},
		{"describe", "pods", "-n", workloadNS},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"logs", "-n", "kube-system", "deployment/coredns", "--tail=40"},
		{"get", "configmap", "-n", "kube-system", "coredns", "-o", "yaml"},
	} {
		out, err := a.tool(a.kubectlEnv(), timeout, "kubectl", args...)
		a.t.Logf("kubectl %s: %v\n%s", strings.Join(args, " "), err, tail(out, 120))
	}
	out, err := a.tool(a.crictlEnv(), timeout, "crictl", "ps", "-a")
	a.t.Logf("crictl ps -a: %v\n%s", err, out)
}

// kubectl runs `kedge kubectl` inside the node, where the kubeconfig's
// https://127.0.0.1:6443 is this node's apiserver.
func (a *agentNode) kubectl(args ...string) (string, error) {
	return a.tool(a.kubectlEnv(), toolTimeout, "kubectl", args...)
}

func (a *agentNode) kubectlEnv() []string { return []string{"KUBECONFIG=" + a.kubeconfig} }

// crictl runs `kedge crictl` inside the node against its containerd.
// KEDGE_DATA_DIR keeps the tools' unpacked bundle out of /var/lib/kedge.
func (a *agentNode) crictl(args ...string) (string, error) {
	return a.tool(a.crictlEnv(), toolTimeout, "crictl", args...)
}

func (a *agentNode) crictlEnv() []string {
	return []string{"KEDGE_DATA_DIR=" + a.dataDir, "KEDGE_RUN_DIR=" + a.runDir}
}

// toolTimeout outlasts the longest wait a test asks kubectl for (rollout
// status, delete), so kubectl reports the timeout itself.
const toolTimeout = 4 * time.Minute

// tool runs `kedge <name> args...` in the node's namespaces.
func (a *agentNode) tool(env []string, timeout time.Duration, name string, args ...string) (string, error) {
	cmd, err := a.net.Spawn(a.args[0], append([]string{name}, args...)...)
	if err != nil {
		return "", err
	}
	cmd.Env = append(os.Environ(), env...)
	return runWithTimeout(cmd, timeout)
}

// mustKubectl is kubectl that fails the test on error.
func (a *agentNode) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := a.kubectl(args...)
	if err != nil {
		t.Fatalf("kedge kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// runWithTimeout runs cmd, killing it by PID after timeout, and returns
// its combined output. Output a leftover child still holds open is given
// up on shortly after cmd itself exits.
func runWithTimeout(cmd *exec.Cmd, timeout time.Duration) (string, error) {
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return "", err
	}
	timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // cmd exited 0; only its output pipe outlived it
	}
	if !timer.Stop() {
		err = fmt.Errorf("killed after %s: %w", timeout, err)
	}
	return out.String(), err
}

// client talks to the node's apiserver from the root namespace, over the
// test bridge: same credentials and CA as the kubeconfig (127.0.0.1 inside
// the node), but the node IP, which the serving certificate also names.
func (a *agentNode) client(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", a.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host = fmt.Sprintf("https://%s:%d", a.net.IP, apiPort)
	cfg.Timeout = 15 * time.Second
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitNodeReady waits until the node reports Ready and its kubelet renewed
// the node lease after since: a Ready condition alone may be left over
// from before a restart.
func (a *agentNode) waitNodeReady(t *testing.T, since time.Time, timeout time.Duration) {
	t.Helper()
	c := a.client(t)
	var last string
	ok := poll(timeout, 2*time.Second, func() bool {
		last = a.nodeState(c, since)
		if !a.running() {
			t.Fatalf("kedge exited while waiting for node Ready:\n%s", tail(a.runLog(), 60))
		}
		return last == ""
	})
	if !ok {
		t.Fatalf("node %s not Ready within %s: %s", a.net.Name, timeout, last)
	}
}

// nodeState returns "" when the node is Ready and fresh, else why not.
func (a *agentNode) nodeState(c *kubernetes.Clientset, since time.Time) string {
	ctx := context.Background()
	node, err := c.CoreV1().Nodes().Get(ctx, a.net.Name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	var ready *corev1.NodeCondition
	for i, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			ready = &node.Status.Conditions[i]
		}
	}
	switch {
	case ready == nil:
		return "no Ready condition"
	case ready.Status != corev1.ConditionTrue:
		return fmt.Sprintf("Ready=%s (%s: %s)", ready.Status, ready.Reason, ready.Message)
	case !ready.LastHeartbeatTime.Time.Before(since.Truncate(time.Second)):
		return "" // a status posted by this run (a new node's first ones)
	}
	// A restarted kubelet may not post its status for minutes; its lease,
	// renewed every 10 s, shows it is back. (A new node's lease can lag
	// its Ready status by 10 s: the kubelet's first try precedes its
	// registration.)
	lease, err := c.CoordinationV1().Leases("kube-node-lease").Get(ctx, a.net.Name, metav1.GetOptions{})
	if err != nil {
		return "node lease: " + err.Error()
	}
	if lease.Spec.RenewTime == nil || lease.Spec.RenewTime.Time.Before(since) {
		return fmt.Sprintf("node lease last renewed %v, before %v", lease.Spec.RenewTime, since)
	}
	return ""
}

// poll calls done every interval until it returns true or timeout passes.
func poll(timeout, interval time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if done() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// kernelTunables are host-wide sysctls the kubelet sets on start
// (setupKernelTunables); no namespace confines them, so the test puts the
// host's values back.
var kernelTunables = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// keepKernelTunables records the tunables now and restores them in cleanup.
func keepKernelTunables(t *testing.T) {
	saved := map[string][]byte{}
	for _, k := range kernelTunables {
		if v, err := os.ReadFile("/proc/sys/" + k); err == nil {
			saved[k] = v
		}
	}
	t.Cleanup(func() {
		for k, v := range saved {
			if now, _ := os.ReadFile("/proc/sys/" + k); !bytes.Equal(now, v) {
				if err := os.WriteFile("/proc/sys/"+k, v, 0o644); err != nil {
					t.Logf("restoring %s: %v", k, err)
				}
			}
		}
	})
}

// randomBytes is a stand-in for a corrupt download.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
