//go:build e2e

package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kedge-io/kedge/tests/netns"
)

const (
	pullNS = "e2e-pull"
	// appliedLine and keptLine are what a node logs after reading its
	// registries.yaml: applied, or refused with the previous one kept.
	appliedLine = "registry configuration from"
	keptLine    = "keeping the previous registry configuration"
	regUser     = "site"
	regPass     = `s3cret "quoted" \ pass`
)

// TestRegistryPulls runs a server with its packaged components, the site's
// registries in a second test node (TLS with a test CA and htpasswd on
// :5000, plain HTTP on :5001) and, later, an agent in a third; no node has
// a route out.
func TestRegistryPulls(t *testing.T) {
	top := newTopology(t, 3)
	ca := newTestCA(t)
	p := &pulls{
		top:     top,
		private: startRegistry(t, top.Nodes[1], registrySpec{port: 5000, ca: ca, user: regUser, pass: regPass}),
		lan:     startRegistry(t, top.Nodes[1], registrySpec{port: 5001}),
	}
	p.caFile = filepath.Join(t.TempDir(), "registry-ca.pem")
	writeFile(t, p.caFile, string(ca.certPEM))
	img := testImage(t)
	p.app = p.private.push(t, img, "private/app:1")
	p.lan.push(t, img, "library/x:1")
	p.lan.push(t, img, "mirrored/busybox:1")
	p.lan.push(t, img, "other/z:1")
	p.plain = p.lan.push(t, img, "plain/web:1")

	p.server = newNode(t, nodeSpec{net: top.Nodes[0]})
	p.writeRegistries(t, "") // none: the built-in images need no file
	p.server.startReady(t)
	p.server.net.HasNoRouteOut(t)
	p.c = p.server.client(t)
	p.server.waitNodeReady(t, time.Time{}, 120*time.Second)
	p.server.apply(t, namespaceYAML(pullNS))
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"built-in images are pulled from the node itself", p.builtinPulled},
		{"pull errors name the registry's reason", p.pullErrors},
		{"imagePullSecrets authenticate", p.pullSecret},
		{"registries.yaml auth and CA edited while pods run", p.authAndCA},
		{"mirrors and rewrite and the default mirror", p.mirrors},
		{"plain HTTP registry on the LAN with crictl and ctr", p.plainHTTP},
		{"bad registries config is refused and the old one kept", p.badInputKept},
		{"bad registries.yaml stops start-up", p.badInputAtStart},
		{"an agent pulls what it runs", p.freshAgent},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

type pulls struct {
	top          *netns.Topology
	private, lan *testRegistry
	caFile       string
	app, plain   string // references pushed above
	server       *node
	c            *kubernetes.Clientset
	running      map[string]string // pod name -> UID of pods that must survive
}

// writeRegistries writes the server's registries.yaml and, when the node
// runs, waits until it logged the outcome.
func (p *pulls) writeRegistries(t *testing.T, content string) string {
	t.Helper()
	n := p.server
	if !n.running() {
		writeFile(t, n.registries, content)
		return ""
	}
	applied, kept := n.logCount(appliedLine), n.logCount(keptLine)
	writeFile(t, n.registries, content)
	var line string
	if !poll(30*time.Second, 250*time.Millisecond, func() bool {
		return n.logCount(appliedLine) > applied || n.logCount(keptLine) > kept
	}) {
		t.Fatalf("no reaction to the new registries.yaml:\n%s", tail(n.runLog(), 40))
	}
	if n.logCount(keptLine) > kept {
		line = n.waitForLogCount(t, keptLine, kept, time.Second)
	} else {
		line = n.waitForLogCount(t, appliedLine, applied, time.Second)
	}
	t.Logf("kedge: %s", line)
	return line
}

// withCA is the private registry's TLS entry, credentials included when
// auth is set.
func (p *pulls) withCA(auth bool) string {
	cfg := fmt.Sprintf("configs:\n  %q:\n    tls:\n      ca_file: %s\n", p.private.host, p.caFile)
	if auth {
		cfg += fmt.Sprintf("    auth:\n      username: %s\n      password: %q\n", regUser, regPass)
	}
	return cfg
}

func (p *pulls) builtinPulled(t *testing.T) {
	ctx := context.Background()
	ok := poll(120*time.Second, time.Second, func() bool {
		_, ok := (&packaged{c: p.c}).deploymentPods(ctx, podReady)
		return ok
	})
	if !ok {
		t.Fatalf("packaged pods not Ready:\n%s", p.server.mustKubectl(t, "get", "pods", "-A", "-o", "wide"))
	}
	expectOnlyRunImages(t, p.c, p.server)
	expectLoopbackOnly(t, p.server)
	events, err := p.c.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "reason=Pulling"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if !strings.Contains(e.Message, `"kedge.local/`) {
			t.Errorf("pulled from outside the node: %s", e.Message)
		}
	}
}

// expectLoopbackOnly checks that containerd reaches kedge.local only at
// the node's own built-in registry: every URL of its hosts.toml is on
// loopback, so no request for it leaves the node.
func expectLoopbackOnly(t *testing.T, n *node) {
	t.Helper()
	hosts := readFile(t, filepath.Join(n.dataDir, "agent", "etc", "containerd", "certs.d", "kedge.local", "hosts.toml"))
	urls := regexp.MustCompile(`"(https?://[^"]*)"`).FindAllStringSubmatch(hosts, -1)
	if len(urls) == 0 {
		t.Fatalf("kedge.local/hosts.toml names no URL:\n%s", hosts)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u[1], "http://127.0.0.1:") {
			t.Errorf("kedge.local/hosts.toml sends pulls to %s:\n%s", u[1], hosts)
		}
	}
}

// expectOnlyRunImages checks that a node's containerd holds the pause
// image and the images of the pods that ran on it, no other built-in one.
func expectOnlyRunImages(t *testing.T, c *kubernetes.Clientset, n *node) {
	t.Helper()
	pods, err := c.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.name})
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]bool{"kedge.local/pause:3.10": true}
	for _, pod := range pods.Items {
		for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
			ran[c.Image] = true
		}
	}
	var held []string
	for _, ref := range n.ctrImages(t) {
		if strings.HasPrefix(ref, "kedge.local/") {
			held = append(held, ref)
			if !ran[ref] {
				t.Errorf("%s holds %s, which none of its pods runs", n.name, ref)
			}
		}
	}
	sort.Strings(held)
	t.Logf("%s holds %v", n.name, held)
	if !slices.Contains(held, "kedge.local/pause:3.10") {
		t.Errorf("%s lacks the pinned pause image", n.name)
	}
}

// expectPullFailure runs a pod of ref and waits for a Failed event whose
// message has every one of wants.
func (p *pulls) expectPullFailure(t *testing.T, pod, ref string, wants ...string) {
	t.Helper()
	p.server.apply(t, yamlOf(t, busybox{name: pod, namespace: pullNS, image: ref, pull: corev1.PullAlways, command: []string{"sleep", "100000"}}.pod()))
	var last string
	ok := poll(90*time.Second, time.Second, func() bool {
		events, err := p.c.CoreV1().Events(pullNS).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod + ",reason=Failed"})
		if err != nil {
			return false
		}
		for _, e := range events.Items {
			last = e.Message
			if containsAll(e.Message, wants...) {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("pod %s: no Failed event naming %q; last: %s", pod, wants, last)
	}
	t.Logf("pod %s: %s", pod, last)
	p.server.mustKubectl(t, "delete", "pod", "-n", pullNS, pod, "--wait=false")
}

func containsAll(s string, parts ...string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// runPod runs a sleeping pod of ref and waits until it runs.
func (p *pulls) runPod(t *testing.T, b busybox) {
	t.Helper()
	b.namespace, b.command = pullNS, []string{"sleep", "100000"}
	p.server.apply(t, yamlOf(t, b.pod()))
	p.server.mustKubectl(t, "wait", "-n", pullNS, "--for=condition=Ready", "pod/"+b.name, "--timeout=120s")
	pod, err := p.c.CoreV1().Pods(pullNS).Get(context.Background(), b.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.running == nil {
		p.running = map[string]string{}
	}
	p.running[b.name] = string(pod.UID)
}

// expectStillRunning checks every pod runPod started: same UID, Running,
// no container restarted.
func (p *pulls) expectStillRunning(t *testing.T) {
	t.Helper()
	for name, uid := range p.running {
		pod, err := p.c.CoreV1().Pods(pullNS).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
		if string(pod.UID) != uid || pod.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: uid %s phase %s, want %s Running", name, pod.UID, pod.Status.Phase, uid)
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.RestartCount != 0 {
				t.Errorf("pod %s: container %s restarted %d times", name, cs.Name, cs.RestartCount)
			}
		}
	}
}

func (p *pulls) pullErrors(t *testing.T) {
	p.expectPullFailure(t, "no-ca", p.app, "x509")
	p.writeRegistries(t, p.withCA(false))
	p.expectPullFailure(t, "no-auth", p.app, "authorization failed")
}

func (p *pulls) pullSecret(t *testing.T) {
	p.server.mustKubectl(t, "create", "secret", "docker-registry", "site-registry", "-n", pullNS,
		"--docker-server="+p.private.host, "--docker-username="+regUser, "--docker-password="+regPass)
	p.runPod(t, busybox{name: "with-secret", image: p.app, pull: corev1.PullAlways, pullSecret: "site-registry"})
}

func (p *pulls) authAndCA(t *testing.T) {
	restarts := p.server.logCount("restarting containerd")
	p.writeRegistries(t, p.withCA(true))
	p.server.waitForLogCount(t, "restarting containerd", restarts, 30*time.Second)
	app := busybox{name: "private-app", namespace: pullNS, image: p.app, pull: corev1.PullAlways, command: []string{"sleep", "100000"}}
	p.server.apply(t, yamlOf(t, app.deployment()))
	p.server.mustKubectl(t, "rollout", "status", "-n", pullNS, "deployment/private-app", rolloutWait)
	p.expectStillRunning(t)
	p.expectPullFailure(t, "not-found", p.private.host+"/private/nothing:1", "not found")
	hosts := readFile(t, filepath.Join(p.server.dataDir, "agent", "etc", "containerd", "certs.d", p.private.host, "hosts.toml"))
	if strings.Contains(hosts, regPass) || strings.Contains(hosts, regUser) {
		t.Errorf("credentials in hosts.toml:\n%s", hosts)
	}
	fi, err := os.Stat(filepath.Join(p.server.dataDir, "agent", "containerd", "config.toml"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("containerd config.toml, which holds the credentials: %v mode %v, want 0600", err, fi.Mode())
	}
}

func (p *pulls) mirrors(t *testing.T) {
	lan := p.lan.url()
	p.writeRegistries(t, p.withCA(true)+fmt.Sprintf(`mirrors:
  docker.io:
    endpoint: [%q]
  registry.kedge.test:
    endpoint: [%q]
    rewrite:
      "^app/(.*)$": "mirrored/$1"
  "*":
    endpoint: [%q]
`, lan, lan, lan))
	p.runPod(t, busybox{name: "docker-io", image: "docker.io/library/x:1", pull: corev1.PullAlways})
	p.runPod(t, busybox{name: "rewritten", image: "registry.kedge.test/app/busybox:1", pull: corev1.PullAlways})
	p.runPod(t, busybox{name: "default-mirror", image: "other.kedge.test/other/z:1", pull: corev1.PullAlways})
	p.expectStillRunning(t)
}

func (p *pulls) plainHTTP(t *testing.T) {
	p.runPod(t, busybox{name: "plain-http", image: p.plain, pull: corev1.PullAlways})
	if out, err := p.server.crictl("pull", p.app); err != nil {
		t.Fatalf("kedge crictl pull %s (credentials from registries.yaml): %v\n%s", p.app, err, out)
	}
	if out, err := p.server.tool(p.server.crictlEnv(), toolTimeout, "ctr", "images", "pull", p.lan.host+"/library/x:1"); err != nil {
		t.Fatalf("kedge ctr images pull over plain HTTP (hosts.toml): %v\n%s", err, out)
	}
}

// badInputKept feeds the running node bad registry configuration, each
// time expecting an error with file and line and the old config kept.
func (p *pulls) badInputKept(t *testing.T) {
	good := readFile(t, p.server.registries)
	handWritten := filepath.Join(p.server.dataDir, "agent", "etc", "containerd", "certs.d", "bad.kedge.test", "hosts.toml")
	for _, tt := range []struct {
		name, content string
		before        func()
		wants         []string
	}{
		{name: "unknown key", content: good + "mirror:\n  docker.io: {}\n", wants: []string{p.server.registries + ":", "mirror"}},
		{name: "missing CA file", content: strings.Replace(good, p.caFile, "/nonexistent/ca.pem", 1), wants: []string{p.server.registries + ":4:", "ca_file"}},
		{name: "invalid regex", content: strings.Replace(good, `"^app/(.*)$"`, `"^app/(.*$"`, 1), wants: []string{p.server.registries + ":", "rewrite", "^app/(.*$"}},
		{
			name: "leading space in a hand-written hosts.toml", content: good + "# touched\n",
			before: func() { writeFile(t, handWritten, "server = \" https://bad.kedge.test\"\n") },
			wants:  []string{handWritten + ":1:", "whitespace"},
		},
	} {
		if tt.before != nil {
			tt.before()
		}
		line := p.writeRegistries(t, tt.content)
		if !strings.Contains(line, keptLine) || !containsAll(line, tt.wants...) {
			t.Errorf("%s: got %q, want the old config kept and %q", tt.name, line, tt.wants)
		}
	}
	if err := os.RemoveAll(filepath.Dir(handWritten)); err != nil {
		t.Fatal(err)
	}
	// Still on the good config: a new pull through the mirror works.
	p.runPod(t, busybox{name: "after-bad-input", image: "docker.io/library/x:1", pull: corev1.PullAlways})
	p.writeRegistries(t, good)
	p.expectStillRunning(t)
}

func (p *pulls) badInputAtStart(t *testing.T) {
	good := readFile(t, p.server.registries)
	p.server.stop(t)
	writeFile(t, p.server.registries, good+"  stray: true\n")
	out := p.server.expectFailure(t, nil)
	mustContain(t, "start-up error", out, p.server.registries+":")
	writeFile(t, p.server.registries, good)
	since := time.Now()
	p.server.startReady(t)
	p.server.waitNodeReady(t, since, 120*time.Second)
	p.expectStillRunning(t)
}

func (p *pulls) freshAgent(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, p.server.token(t)+"\n")
	agent := p.server.joinAgent(t, p.top.Nodes[2], "--token-file", tokenFile)
	since := time.Now()
	agent.start(t)
	agent.waitForLog(t, agentReadyLine, 120*time.Second)
	waitReadyIn(t, p.c, agent.name, since, 120*time.Second, func() {})
	agent.net.HasNoRouteOut(t)
	p.runPod(t, busybox{name: "on-agent", node: agent.name})
	expectOnlyRunImages(t, p.c, agent)
	expectLoopbackOnly(t, agent)
}
