//go:build e2e

package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// apiURL is where a server's apiserver answers from the root network
// namespace and from other test nodes.
func (n *node) apiURL() string {
	host := "127.0.0.1"
	if n.net != nil {
		host = n.net.IP.String()
	}
	return fmt.Sprintf("https://%s:%d", host, n.port)
}

// restConfig has the kubeconfig's credentials and CA, and apiURL: in a
// test node the kubeconfig's 127.0.0.1 is the node's own loopback, and the
// serving certificate also names the node IP. It fails until kedge has
// written the kubeconfig.
func (n *node) restConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", n.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Host = n.apiURL()
	return cfg, nil
}

// client talks to a server's apiserver from the test process.
func (n *node) client(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cfg, err := n.restConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 15 * time.Second
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// token is the join token a server wrote into its data dir.
func (n *node) token(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(readFile(t, filepath.Join(n.dataDir, "server", "token")))
}

// toolTimeout outlasts the longest wait a test asks kubectl for (rollout
// status, delete), so kubectl reports the timeout itself.
const toolTimeout = 4 * time.Minute

// tool runs `kedge <name> args...` where the node lives.
func (n *node) tool(env []string, timeout time.Duration, name string, args ...string) (string, error) {
	cmd, err := n.command(append([]string{name}, args...)...)
	if err != nil {
		return "", err
	}
	cmd.Env = append(os.Environ(), env...)
	return runWithTimeout(cmd, timeout)
}

// kubectl runs `kedge kubectl` against a server. In a test node it runs
// inside, where the kubeconfig's https://127.0.0.1:6443 is this node.
func (n *node) kubectl(args ...string) (string, error) {
	return n.tool(n.kubectlEnv(), toolTimeout, "kubectl", args...)
}

func (n *node) kubectlEnv() []string { return []string{"KUBECONFIG=" + n.kubeconfig} }

// mustKubectl is kubectl that fails the test on error.
func (n *node) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := n.kubectl(args...)
	if err != nil {
		t.Fatalf("kedge kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// crictl runs `kedge crictl` inside a test node against its containerd.
// KEDGE_DATA_DIR keeps the tools' unpacked bundle out of /var/lib/kedge.
func (n *node) crictl(args ...string) (string, error) {
	return n.tool(n.crictlEnv(), toolTimeout, "crictl", args...)
}

func (n *node) crictlEnv() []string {
	return []string{"KEDGE_DATA_DIR=" + n.dataDir, "KEDGE_RUN_DIR=" + n.runDir}
}

// waitNodeReady waits until the node in a test node reports Ready and its
// kubelet renewed the node lease after since: a Ready condition alone may
// be left over from before a restart.
func (n *node) waitNodeReady(t *testing.T, since time.Time, timeout time.Duration) {
	t.Helper()
	waitReadyIn(t, n.client(t), n.name, since, timeout, func() {
		if !n.running() {
			t.Fatalf("kedge exited while waiting for node Ready:\n%s", tail(n.runLog(), 60))
		}
	})
}

// waitReadyIn waits until node name is Ready in the cluster of c with a
// status or lease from after since; check runs at each try and may fail
// the test early (e.g. when the kedge under test exited).
func waitReadyIn(t *testing.T, c *kubernetes.Clientset, name string, since time.Time, timeout time.Duration, check func()) {
	t.Helper()
	begin := time.Now()
	var last string
	ok := poll(timeout, 2*time.Second, func() bool {
		last = nodeState(c, name, since)
		check()
		return last == ""
	})
	if !ok {
		t.Fatalf("node %s not Ready within %s: %s", name, timeout, last)
	}
	t.Logf("node %s Ready after %s", name, time.Since(begin).Round(100*time.Millisecond))
}

// nodeState returns "" when the Kubernetes node name is Ready and fresh,
// else why not.
func nodeState(c *kubernetes.Clientset, name string, since time.Time) string {
	ctx := context.Background()
	obj, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	var ready *corev1.NodeCondition
	for i, cond := range obj.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			ready = &obj.Status.Conditions[i]
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
	lease, err := c.CoordinationV1().Leases("kube-node-lease").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "node lease: " + err.Error()
	}
	if lease.Spec.RenewTime == nil || lease.Spec.RenewTime.Time.Before(since) {
		return fmt.Sprintf("node lease last renewed %v, before %v", lease.Spec.RenewTime, since)
	}
	return ""
}
