//go:build e2e

package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kedge-io/kedge/tests/netns"
)

const (
	clusterNS    = "e2e-cluster"
	monitorGrace = "--kube-controller-manager-arg=node-monitor-grace-period=20s"
)

// clusterWorkloads are a DaemonSet and six web pods spread over the nodes,
// behind a NodePort Service.
func clusterWorkloads(t *testing.T) []string {
	everyNode := busybox{name: "every-node", namespace: clusterNS, command: []string{"sleep", "100000"}}
	web := busybox{name: "web", namespace: clusterNS, replicas: 6, www: "hostname > /www/index.html"}.deployment()
	spreadOverNodes(&web.Spec.Template.Spec, "web")
	return []string{namespaceYAML(clusterNS), yamlOf(t, everyNode.daemonSet()), yamlOf(t, web), clusterService}
}

// spreadOverNodes puts the app's pods evenly on the nodes. Short
// not-ready/unreachable tolerations let a lost node's pods move within the
// test instead of after the default five minutes.
func spreadOverNodes(spec *corev1.PodSpec, app string) {
	spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       "kubernetes.io/hostname",
		WhenUnsatisfiable: corev1.DoNotSchedule,
		// A lost node is tainted; without Honor it would still count as
		// an empty domain and block the replacements.
		NodeTaintsPolicy: ptr.To(corev1.NodeInclusionPolicyHonor),
		LabelSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
	}}
	for _, taint := range []string{"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"} {
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
			Key: taint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
			TolerationSeconds: ptr.To[int64](5),
		})
	}
}

const clusterService = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: e2e-cluster}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`

// cluster is a server and two agents, plus a spare namespace for agents
// that join and leave during the test.
type cluster struct {
	// root owns the nodes' temp dirs: a subtest's would make socket
	// paths longer than Linux allows.
	root                   *testing.T
	server, agent1, agent2 *node
	spare                  *netns.Node
	c                      *kubernetes.Clientset
	token                  string
}

// TestClusterOfThree joins two agents to a server over a test bridge and
// runs them through what a multi-node site meets: workloads across nodes,
// refused joins, a server outage, extra tokens, and a lost node. The steps
// share the cluster and stop at the first failure.
func TestClusterOfThree(t *testing.T) {
	top := newTopology(t, 4)
	k := &cluster{root: t, spare: top.Nodes[3]}
	k.server = newNode(t, nodeSpec{net: top.Nodes[0], flags: []string{monitorGrace}})
	k.server.addImage(t, "busybox.tar")
	k.server.startReady(t)
	k.c = k.server.client(t)
	k.token = k.server.token(t)
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"agents join and all nodes are Ready", func(t *testing.T) { k.join(t, top) }},
		{"bad joins are refused", k.refusals},
		{"workloads spread and reach each other", k.workloads},
		{"agents keep serving while the server is down", k.serverOutage},
		{"created tokens join until deleted", k.tokens},
		{"a lost node's pods move", k.lostNode},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

// newAgent prepares an agent in the test node in, joining with flags.
func (k *cluster) newAgent(t *testing.T, in *netns.Node, flags ...string) *node {
	t.Helper()
	a := k.server.joinAgent(k.root, in, flags...)
	a.addImage(t, "busybox.tar")
	return a
}

func (k *cluster) join(t *testing.T, top *netns.Topology) {
	tokenFile := filepath.Join(k.root.TempDir(), "token")
	writeFile(t, tokenFile, k.token+"\n")
	since := time.Now()
	k.agent1 = k.newAgent(t, top.Nodes[1], "--token-file", tokenFile)
	k.agent2 = k.newAgent(t, top.Nodes[2], "--token", k.token)
	for _, a := range []*node{k.agent1, k.agent2} {
		a.start(t)
	}
	for _, a := range []*node{k.agent1, k.agent2} {
		a.waitForLog(t, agentReadyLine, 120*time.Second)
	}
	k.waitReady(t, since, k.server, k.agent1, k.agent2)
	t.Logf("agents Ready %s after start", time.Since(since).Round(10*time.Millisecond))
	cidrs := map[string]string{}
	for _, a := range []*node{k.server, k.agent1, k.agent2} {
		obj, err := k.c.CoreV1().Nodes().Get(context.Background(), a.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := cidrs[obj.Spec.PodCIDR]; dup || obj.Spec.PodCIDR == "" {
			t.Fatalf("node %s pod CIDR %q (also %s)", a.name, obj.Spec.PodCIDR, other)
		}
		cidrs[obj.Spec.PodCIDR] = a.name
	}
	for _, a := range []*node{k.agent1, k.agent2} {
		a.net.HasNoRouteOut(t)
	}
}

// waitReady waits until every node is Ready with a heartbeat after since.
func (k *cluster) waitReady(t *testing.T, since time.Time, nodes ...*node) {
	t.Helper()
	var last string
	ok := poll(120*time.Second, 2*time.Second, func() bool {
		for _, a := range nodes {
			if last = nodeState(k.c, a.name, since); last != "" {
				last = a.name + ": " + last
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("nodes not Ready: %s\n%s", last, k.server.mustKubectl(t, "get", "nodes", "-o", "wide"))
	}
}

// refusals start agents that must stop before registering: in the spare
// namespace, so nothing of theirs could collide with a running agent.
func (k *cluster) refusals(t *testing.T) {
	hash, secret, _ := strings.Cut(strings.TrimPrefix(k.token, "K10"), "::")
	flipped := "0"
	if hash[0] == '0' {
		flipped = "1"
	}
	for _, tc := range []struct {
		name, node, token, want string
	}{
		{"wrong token", "refused-token", "K10" + hash + "::server:wrong", "invalid join token"},
		{"tampered CA hash", "refused-hash", "K10" + flipped + hash[1:] + "::" + secret, "does not match the token's CA hash"},
		{"node name of another machine", k.agent1.name, k.token, "already registered by another machine"},
	} {
		a := k.newAgent(t, k.spare, "--token", tc.token)
		out, code := a.runOnce(t, nil, "--node-name", tc.node)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want an error with %q:\n%s", tc.name, code, tc.want, tail(out, 20))
		}
		if tc.node != k.agent1.name {
			if _, err := k.c.CoreV1().Nodes().Get(context.Background(), tc.node, metav1.GetOptions{}); err == nil {
				t.Errorf("%s: node %s registered", tc.name, tc.node)
			}
		}
	}
	k.waitReady(t, time.Now(), k.agent1) // the real agent 1 is untouched
}

func (k *cluster) workloads(t *testing.T) {
	k.server.apply(t, clusterWorkloads(t)...)
	k.server.mustKubectl(t, "rollout", "status", "-n", clusterNS, "daemonset/every-node", rolloutWait)
	k.server.mustKubectl(t, "rollout", "status", "-n", clusterNS, "deployment/web", rolloutWait)
	perNode := map[string]int{}
	for _, p := range k.pods(t, "app=every-node") {
		perNode[p.Spec.NodeName]++
	}
	web := k.pods(t, "app=web")
	for _, a := range []*node{k.server, k.agent1, k.agent2} {
		if perNode[a.name] != 1 {
			t.Errorf("DaemonSet pods per node: %v", perNode)
		}
		if len(onNode(web, a.name)) == 0 {
			t.Errorf("no web pod on %s: %s", a.name, podSummary(web))
		}
	}
	from, to := onNode(web, k.agent1.name)[0], onNode(web, k.agent2.name)[0]
	k.server.expectFromPod(t, clusterNS, from.Name, "http://"+to.Status.PodIP+":8080/", to.Name)
	svc, err := k.c.CoreV1().Services(clusterNS).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k.server.expectFromPod(t, clusterNS, from.Name, "http://"+svc.Spec.ClusterIP+"/", names(web)...)
	// By name, through the packaged CoreDNS, wherever it was scheduled.
	k.server.mustKubectl(t, "rollout", "status", "-n", "kube-system", "deployment/coredns", rolloutWait)
	k.server.expectFromPod(t, clusterNS, from.Name, "http://web."+clusterNS+".svc.cluster.local/", names(web)...)
	for _, a := range []*node{k.server, k.agent1, k.agent2} {
		k.expectNodePort(t, a, names(web))
	}
}

func (k *cluster) pods(t *testing.T, selector string) []corev1.Pod {
	t.Helper()
	list, err := k.c.CoreV1().Pods(clusterNS).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func onNode(pods []corev1.Pod, node string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName == node && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// expectNodePort fetches the web Service on a node's IP from the root
// namespace, over the test bridge.
func (k *cluster) expectNodePort(t *testing.T, a *node, want []string) {
	t.Helper()
	if body, err := k.nodePort(t, a); err != nil || !slices.Contains(want, body) {
		t.Fatalf("NodePort on %s: got %q, %v; want one of %v", a.name, body, err, want)
	}
}

func (k *cluster) nodePort(t *testing.T, a *node) (string, error) {
	t.Helper()
	svc, err := k.c.CoreV1().Services(clusterNS).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return k.nodePortAt(a, svc.Spec.Ports[0].NodePort)
}

func (k *cluster) nodePortAt(a *node, port int32) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	var body string
	var err error
	poll(30*time.Second, time.Second, func() bool {
		body, err = httpBody(client, fmt.Sprintf("http://%s:%d/", a.net.IP, port))
		return err == nil
	})
	return body, err
}

// serverOutage stops the server for a minute: the agents' pods must keep
// answering, and afterwards the same agent processes report Ready again.
func (k *cluster) serverOutage(t *testing.T) {
	svc, err := k.c.CoreV1().Services(clusterNS).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := svc.Spec.Ports[0].NodePort
	pids := []int{k.agent1.cmd.Process.Pid, k.agent2.cmd.Process.Pid}
	k.server.stop(t)
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Second) {
		for _, a := range []*node{k.agent1, k.agent2} {
			if _, err := k.nodePortAt(a, port); err != nil {
				t.Fatalf("NodePort on %s while the server is down: %v", a.name, err)
			}
		}
	}
	since := time.Now()
	k.server.startReady(t)
	k.waitReady(t, since, k.server, k.agent1, k.agent2)
	t.Logf("all nodes Ready %s after the server restarted", time.Since(since).Round(10*time.Millisecond))
	for i, a := range []*node{k.agent1, k.agent2} {
		if !a.running() || a.cmd.Process.Pid != pids[i] {
			t.Errorf("agent %s was restarted", a.name)
		}
	}
}

// tokens joins an agent in the spare namespace with a created token, then
// shows that the same token is refused once deleted.
func (k *cluster) tokens(t *testing.T) {
	out, err := k.server.tool(k.server.kubectlEnv(), toolTimeout, "token", "create", "--ttl", "1h", "--description", "e2e")
	if err != nil {
		t.Fatalf("kedge token create: %v\n%s", err, out)
	}
	created := strings.TrimSpace(out)
	id := strings.SplitN(strings.SplitN(created, "::", 2)[1], ".", 2)[0]
	joined := k.newAgent(t, k.spare, "--token", created, "--node-name", "token-joined")
	since := time.Now()
	joined.startReady(t)
	state := func() string { return nodeState(k.c, "token-joined", since) }
	if !poll(120*time.Second, 2*time.Second, func() bool { return state() == "" }) {
		t.Fatalf("node joined with a created token is not Ready: %s", state())
	}
	joined.stop(t)
	k.server.mustKubectl(t, "delete", "node", "token-joined")
	if out, err := k.server.tool(k.server.kubectlEnv(), toolTimeout, "token", "delete", id); err != nil {
		t.Fatalf("kedge token delete: %v\n%s", err, out)
	}
	refused := k.newAgent(t, k.spare, "--token", created)
	out, code := refused.runOnce(t, nil, "--node-name", "token-deleted")
	if code == 0 || !strings.Contains(out, "invalid join token") {
		t.Fatalf("deleted token: exit %d:\n%s", code, tail(out, 20))
	}
}

// lostNode kills agent 2 as a machine dies: its node turns NotReady and
// the web pods run six strong on the other nodes.
func (k *cluster) lostNode(t *testing.T) {
	lost := k.agent2.name
	if err := k.agent2.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-k.agent2.exited
	begin := time.Now()
	var web []corev1.Pod
	ok := poll(180*time.Second, 3*time.Second, func() bool {
		web = k.pods(t, "app=web")
		running := len(onNode(web, k.server.name)) + len(onNode(web, k.agent1.name))
		return nodeState(k.c, lost, begin) != "" && running == 6
	})
	if !ok {
		t.Fatalf("after losing %s: %s\n%s", lost, podSummary(web), k.server.mustKubectl(t, "get", "nodes"))
	}
	t.Logf("pods of %s running elsewhere %s after it died", lost, time.Since(begin).Round(time.Second))
}

// TestHostGatewayBackend joins an agent to a server on one layer-2
// segment with --flannel-backend=host-gw and --flannel-iface: pod traffic
// between the nodes goes over plain routes, no VXLAN device.
func TestHostGatewayBackend(t *testing.T) {
	top := newTopology(t, 2)
	k := &cluster{root: t}
	k.server = newNode(t, nodeSpec{net: top.Nodes[0], flags: []string{"--flannel-backend=host-gw", "--flannel-iface=eth0"}})
	k.server.addImage(t, "busybox.tar")
	k.server.startReady(t)
	k.c = k.server.client(t)
	since := time.Now()
	k.agent1 = k.newAgent(t, top.Nodes[1], "--token", k.server.token(t), "--flannel-iface=eth0")
	k.agent1.startReady(t)
	k.waitReady(t, since, k.server, k.agent1)
	if !strings.Contains(k.agent1.runLog(), "flannel host-gw") {
		t.Fatalf("the agent did not take the server's host-gw backend:\n%s", tail(k.agent1.runLog(), 30))
	}
	k.server.apply(t, clusterWorkloads(t)...)
	k.server.mustKubectl(t, "rollout", "status", "-n", clusterNS, "deployment/web", rolloutWait)
	web := k.pods(t, "app=web")
	from, to := onNode(web, k.server.name), onNode(web, k.agent1.name)
	if len(from) == 0 || len(to) == 0 {
		t.Fatalf("web pods not on both nodes: %s", podSummary(web))
	}
	k.server.expectFromPod(t, clusterNS, from[0].Name, "http://"+to[0].Status.PodIP+":8080/", to[0].Name)
	cmd, err := k.agent1.net.Spawn("ip", "-o", "link", "show", "flannel.1")
	if err != nil {
		t.Fatal(err)
	}
	if text, err := runWithTimeout(cmd, 10*time.Second); err == nil {
		t.Fatalf("host-gw node has a VXLAN device: %s", text)
	}
}
