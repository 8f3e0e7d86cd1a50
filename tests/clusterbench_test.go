//go:build e2e

package tests

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Aims of the multi-node issue.
const (
	aimAgentReady = 10 * time.Second
	aimAgentRSS   = 150 * 1000 * 1000 // bytes: 150 MB
	aimAgentDisk  = 100 * 1000 * 1000 // containerd's root: issue 13
	transferMiB   = 256
)

// TestClusterBenchmark joins one agent to a server and reports: agent
// start to node Ready, the agent-only node's idle RSS (kedge, containerd,
// shims; no pods on it) after RSS_AFTER seconds, and pod-to-pod TCP
// throughput across the vxlan overlay against the same node, with busybox
// dd|nc between pods. Reports only; KEDGE_BENCH=1 runs it.
func TestClusterBenchmark(t *testing.T) {
	requireBench(t)
	rssAfter := envInt(t, "RSS_AFTER", 60)
	top := newTopology(t, 2)
	server := newNode(t, nodeSpec{net: top.Nodes[0], flags: noPackaged})
	server.addImage(t, "busybox.tar")
	server.startReady(t)
	c := server.client(t)

	agent := server.joinAgent(t, top.Nodes[1], "--token", server.token(t))
	agent.addImage(t, "busybox.tar")
	agent.prepareMountNS(t)
	start := time.Now()
	agent.start(t)
	t.Logf("agent started at %s", start.Format("15:04:05.000"))
	var last string
	if !poll(120*time.Second, 100*time.Millisecond, func() bool {
		last = nodeState(c, agent.name, start)
		return last == ""
	}) {
		t.Fatalf("agent not Ready: %s\n%s", last, tail(agent.runLog(), 40))
	}
	agentReady := time.Since(start)
	agentDisk := diskUse(t, filepath.Join(agent.dataDir, "agent", "containerd"))

	time.Sleep(time.Duration(rssAfter) * time.Second)
	idle := sampleProcs(t, agent.cmd.Process.Pid)
	agentRSS := idle.rss(roleKedge, roleContainerd, roleOther, roleShim)

	cross, same := throughput(t, server, agent)

	benchHeader("multi-node: a server and one agent in test network namespaces joined by a bridge")
	benchRow("kedge agent start to node Ready", ms(agentReady), aimDur(agentReady, aimAgentReady))
	benchRow("agent's containerd disk use after Ready", mib(agentDisk), aimBytes(agentDisk, aimAgentDisk))
	benchRow(fmt.Sprintf("agent-only idle RSS %ds after Ready", rssAfter), mib(agentRSS), aimBytes(agentRSS, aimAgentRSS))
	benchRow("  kedge", mib(idle.rss(roleKedge)), "")
	benchRow("  containerd", mib(idle.rss(roleContainerd)), "")
	benchRow(fmt.Sprintf("  containerd shims (%d)", idle.count(roleShim)), mib(idle.rss(roleShim)), "")
	benchRow("  of which anonymous (heap, stacks)", mib(idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	benchRow("  of which file-backed (binary pages)", mib(agentRSS-idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	benchRow(fmt.Sprintf("pod to pod, other node (vxlan), %d MiB", transferMiB), fmt.Sprintf("%.0f MiB/s", cross), "")
	benchRow(fmt.Sprintf("pod to pod, same node, %d MiB", transferMiB), fmt.Sprintf("%.0f MiB/s", same), "")
}

// throughput sends transferMiB from a pod on each node to a listener of
// its own on the agent node and returns MiB/s across nodes and on the
// same node.
func throughput(t *testing.T, server, agent *node) (cross, same float64) {
	t.Helper()
	var docs []string
	for name, on := range map[string]*node{"sink-far": agent, "sink-near": agent, "far": server, "near": agent} {
		// nc -l exits when its stdin closes; sleep keeps it open. One
		// connection per pod: the pipeline ends only when sleep does.
		nc := busybox{name: name, namespace: "default", node: on.name,
			command: []string{"sh", "-c", "sleep 100000 | nc -l -p 5000 > /dev/null"}}
		docs = append(docs, yamlOf(t, nc.pod()))
	}
	server.apply(t, docs...)
	server.mustKubectl(t, "wait", "--for=condition=Ready", "pod/sink-far", "pod/sink-near", "pod/far", "pod/near", "--timeout=120s")
	podIP := func(pod string) string {
		return strings.TrimSpace(server.mustKubectl(t, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"))
	}
	return sendRate(t, server, "far", podIP("sink-far")), sendRate(t, server, "near", podIP("sink-near"))
}

var realTime = regexp.MustCompile(`real\s+(\d+)m\s*([\d.]+)s`)

// sendRate times dd|nc inside pod with busybox's time applet, so kubectl
// exec's own overhead is not counted.
func sendRate(t *testing.T, server *node, pod, ip string) float64 {
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
