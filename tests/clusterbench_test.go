//go:build e2e

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kedge-io/kedge/tests/netns"
)

// Aims of the multi-node issue.
const (
	aimAgentReady = 10 * time.Second
	aimAgentRSS   = 150 * 1000 * 1000 // bytes: 150 MB
	transferMiB   = 256
)

// TestClusterBenchmark joins one agent to a server and reports: agent
// start to node Ready, the agent-only node's idle RSS (kedge, containerd,
// shims; no pods on it) after RSS_AFTER seconds, and pod-to-pod TCP
// throughput across the vxlan overlay against the same node, with busybox
// dd|nc between pods. Reports only; KEDGE_BENCH=1 runs it.
func TestClusterBenchmark(t *testing.T) {
	if os.Getenv("KEDGE_BENCH") != "1" {
		t.Skip("benchmark: set KEDGE_BENCH=1 (`make bench` does)")
	}
	rssAfter := envInt(t, "RSS_AFTER", 60)
	requireAgentHost(t)
	keepKernelTunables(t)
	top := netns.New(t, 2)
	server := newClusterNode(t, top.Nodes[0], "server", noPackaged...)
	server.addImage(t, "busybox.tar")
	server.start(t)
	server.waitForLog(t, readyLine, 120*time.Second)
	token := strings.TrimSpace(readFile(t, filepath.Join(server.dataDir, "server", "token")))
	c := server.client(t)

	agent := newClusterNode(t, top.Nodes[1], "agent",
		"--server", fmt.Sprintf("https://%s:%d", top.Nodes[0].IP, apiPort), "--token", token)
	agent.addImage(t, "busybox.tar")
	if _, err := agent.net.Spawn("true"); err != nil { // mount namespace: not timed
		t.Fatal(err)
	}
	start := time.Now()
	agent.start(t)
	t.Logf("agent started at %s", start.Format("15:04:05.000"))
	var last string
	if !poll(120*time.Second, 100*time.Millisecond, func() bool {
		last = agent.nodeState(c, start)
		return last == ""
	}) {
		t.Fatalf("agent not Ready: %s\n%s", last, tail(agent.runLog(), 40))
	}
	agentReady := time.Since(start)

	time.Sleep(time.Duration(rssAfter) * time.Second)
	idle := sampleProcs(t, agent.cmd.Process.Pid)
	agentRSS := idle.rss(roleKedge, roleContainerd, roleOther, roleShim)

	cross, same := throughput(t, server, top.Nodes[0].Name, top.Nodes[1].Name)

	fmt.Printf("\nmulti-node: a server and one agent in test network namespaces joined by a bridge\n")
	fmt.Printf("\n%-44s %-16s %s\n", "figure", "value", "aim")
	row := func(figure, value, aim string) { fmt.Printf("%-44s %-16s %s\n", figure, value, aim) }
	row("kedge agent start to node Ready", ms(agentReady), aimDur(agentReady, aimAgentReady))
	row(fmt.Sprintf("agent-only idle RSS %ds after Ready", rssAfter), mib(agentRSS), aimBytes(agentRSS, aimAgentRSS))
	row("  kedge", mib(idle.rss(roleKedge)), "")
	row("  containerd", mib(idle.rss(roleContainerd)), "")
	row(fmt.Sprintf("  containerd shims (%d)", idle.count(roleShim)), mib(idle.rss(roleShim)), "")
	row("  of which anonymous (heap, stacks)", mib(idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	row("  of which file-backed (binary pages)", mib(agentRSS-idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	row(fmt.Sprintf("pod to pod, other node (vxlan), %d MiB", transferMiB), fmt.Sprintf("%.0f MiB/s", cross), "")
	row(fmt.Sprintf("pod to pod, same node, %d MiB", transferMiB), fmt.Sprintf("%.0f MiB/s", same), "")
}

const benchNetManifest = `apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: default}
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 1
  containers:
  - name: nc
    image: kedge.local/busybox:1.35.0
    imagePullPolicy: IfNotPresent
    # nc -l exits when its stdin closes; sleep keeps it open. One
    # connection per pod: the pipeline ends only when sleep does.
    command: ["sh", "-c", "sleep 100000 | nc -l -p 5000 > /dev/null"]
`

// throughput sends transferMiB from a pod on each node to a listener of
// its own on the agent node and returns MiB/s across nodes and on the
// same node.
func throughput(t *testing.T, server *agentNode, serverNode, agentNode string) (cross, same float64) {
	t.Helper()
	manifest := filepath.Join(t.TempDir(), "net.yaml")
	var docs []string
	for name, node := range map[string]string{
		"sink-far": agentNode, "sink-near": agentNode, "far": serverNode, "near": agentNode,
	} {
		docs = append(docs, fmt.Sprintf(benchNetManifest, name, node))
	}
	writeFile(t, manifest, strings.Join(docs, "---\n"))
	server.mustKubectl(t, "apply", "-f", manifest)
	server.mustKubectl(t, "wait", "--for=condition=Ready", "pod/sink-far", "pod/sink-near", "pod/far", "pod/near", "--timeout=120s")
	podIP := func(pod string) string {
		return strings.TrimSpace(server.mustKubectl(t, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"))
	}
	return sendRate(t, server, "far", podIP("sink-far")), sendRate(t, server, "near", podIP("sink-near"))
}

var realTime = regexp.MustCompile(`real\s+(\d+)m\s*([\d.]+)s`)

// sendRate times dd|nc inside pod with busybox's time applet, so kubectl
// exec's own overhead is not counted.
func sendRate(t *testing.T, server *agentNode, pod, ip string) float64 {
	t.Helper()
	script := fmt.Sprintf("time sh -c 'dd if=/dev/zero bs=1M count=%d 2>/dev/null | nc %s 5000'", transferMiB, ip)
	out := server.mustKubectl(t, "exec", pod, "--", "sh", "-c", script)
	m := realTime.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no timing from %s: %q", pod, out)
	}
	minutes, _ := strconv.Atoi(m[1])
	seconds, _ := strconv.ParseFloat(m[2], 64)
	return transferMiB / (float64(minutes)*60 + seconds)
}
