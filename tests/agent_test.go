//go:build e2e

package tests

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	workloadNS  = "e2e-web"
	webSelector = "app=web"
	startedLine = "kedge-e2e-started"
)

// webWorkload is three busybox pods, each serving its own hostname (the
// pod name) on 8080, behind a ClusterIP and a NodePort Service.
func webWorkload(t *testing.T) []string {
	web := busybox{name: "web", namespace: workloadNS, replicas: 3, www: "echo " + startedLine + "; hostname > /www/index.html"}
	return []string{namespaceYAML(workloadNS), yamlOf(t, web.deployment()), webServices}
}

const webServices = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: e2e-web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np, namespace: e2e-web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`

// TestAgentNodeRunsWorkloads runs one node through what a user does first:
// wait for Ready, deploy, reach the pods, restart kedge, roll out, delete.
// The steps share the node to keep CI short, so each runs only if the
// previous one passed.
func TestAgentNodeRunsWorkloads(t *testing.T) {
	a := newNetnsServer(t)
	a.addImage(t, "busybox.tar")
	// A corrupt archive beside the good one must not stop the import.
	a.addImageFile(t, "broken.tar", randomBytes(t, 64<<10))
	started := time.Now()
	a.startReady(t)

	s := &webScenario{a: a, c: a.client(t)}
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"fresh node is Ready", func(t *testing.T) { s.nodeReady(t, started) }},
		{"corrupt archive is skipped by name", s.brokenArchiveSkipped},
		{"deployment runs", s.deploymentRuns},
		{"pods reach pods and services", s.networking},
		{"restart keeps pods running", s.restart},
		{"rollout restart replaces pods", s.rolloutRestart},
		{"deleted deployment leaves no containers", s.deleteDeployment},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

// webScenario carries what one step learns to the next.
type webScenario struct {
	a    *node
	c    *kubernetes.Clientset
	pods []corev1.Pod // the deployment's current pods, by name
}

func (s *webScenario) nodeReady(t *testing.T, since time.Time) {
	s.a.waitNodeReady(t, since, 120*time.Second)
	out := s.a.mustKubectl(t, "get", "nodes", "-o", "wide")
	line := lineWith(out, s.a.name)
	for _, want := range []string{" Ready ", " " + s.a.net.IP.String() + " "} {
		if !strings.Contains(line, want) {
			t.Fatalf("kubectl get nodes -o wide: want %q in the node's line:\n%s", want, out)
		}
	}
	s.a.net.HasNoRouteOut(t)

	out, code := runKedge(t, nil, "status", "--run-dir", s.a.runDir, "--wait", "1m")
	if code != 0 {
		t.Fatalf("kedge status exited %d:\n%s", code, out)
	}
	mustContain(t, "kedge status", out, "): ready", "containerd", "kubelet", "kube-proxy", "flannel")
}

func (s *webScenario) brokenArchiveSkipped(t *testing.T) {
	ok := poll(60*time.Second, time.Second, func() bool {
		return lineWith(s.a.runLog(), "skipping image archive", "broken.tar") != ""
	})
	if !ok {
		t.Fatalf("no \"skipping image archive\" line naming broken.tar; log:\n%s", tail(s.a.runLog(), 60))
	}
	out, err := s.a.crictl("images")
	if err != nil || !strings.Contains(out, "kedge.local/busybox") {
		t.Fatalf("busybox not imported beside the broken archive: %v\n%s", err, out)
	}
}

func (s *webScenario) deploymentRuns(t *testing.T) {
	s.a.apply(t, webWorkload(t)...)
	s.a.mustKubectl(t, "rollout", "status", "deployment/web", "-n", workloadNS, rolloutWait)
	s.pods = s.waitWebPods(t, nil)
	pod := s.pods[0].Name
	out := s.a.mustKubectl(t, "logs", "-n", workloadNS, pod)
	mustContain(t, "kubectl logs "+pod, out, startedLine)
	out = s.a.mustKubectl(t, "exec", "-n", workloadNS, pod, "--", "cat", "/www/index.html")
	if strings.TrimSpace(out) != pod {
		t.Fatalf("kubectl exec %s -- cat /www/index.html = %q, want the pod's hostname", pod, out)
	}
}

func (s *webScenario) networking(t *testing.T) {
	from, to := s.pods[0], s.pods[1]
	s.a.expectFromPod(t, workloadNS, from.Name, fmt.Sprintf("http://%s:8080/", to.Status.PodIP), to.Name)
	svc, err := s.c.CoreV1().Services(workloadNS).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.a.expectFromPod(t, workloadNS, from.Name, fmt.Sprintf("http://%s:80/", svc.Spec.ClusterIP), s.podNames()...)
	s.expectNodePort(t)
}

// restart stops kedge with SIGTERM and starts it again with the same
// flags: the pods must be the very same ones, never restarted.
func (s *webScenario) restart(t *testing.T) {
	before := podStates(s.pods)
	s.a.stop(t)
	since := time.Now()
	s.a.startReady(t)
	s.a.waitNodeReady(t, since, 120*time.Second)
	t.Logf("node Ready again %s after the restart", time.Since(since).Round(10*time.Millisecond))
	s.pods = s.waitWebPods(t, nil)
	after := podStates(s.pods)
	for uid, was := range before {
		if now, ok := after[uid]; !ok || now != was {
			t.Errorf("pod %s before restart %+v, after %+v (all after: %+v)", uid, was, now, after)
		}
	}
	s.expectNodePort(t)
}

func (s *webScenario) rolloutRestart(t *testing.T) {
	old := map[string]bool{}
	for _, name := range s.podNames() {
		old[name] = true
	}
	s.a.mustKubectl(t, "rollout", "restart", "deployment/web", "-n", workloadNS)
	s.a.mustKubectl(t, "rollout", "status", "deployment/web", "-n", workloadNS, rolloutWait)
	s.pods = s.waitWebPods(t, old)
}

func (s *webScenario) deleteDeployment(t *testing.T) {
	var ids []string
	for _, p := range s.pods {
		for _, cs := range p.Status.ContainerStatuses {
			ids = append(ids, strings.TrimPrefix(cs.ContainerID, "containerd://"))
		}
	}
	s.a.mustKubectl(t, "delete", "deployment", "web", "-n", workloadNS, "--timeout=120s")
	var left []corev1.Pod
	if !poll(120*time.Second, 2*time.Second, func() bool { left = s.listWebPods(t); return len(left) == 0 }) {
		t.Fatalf("pods still listed 120s after deleting the deployment: %v", names(left))
	}
	var out string
	gone := poll(60*time.Second, 2*time.Second, func() bool {
		out, _ = s.a.crictl("ps")
		return !strings.Contains(out, "web-") && !containsAnyPrefix(out, ids, 13)
	})
	if !gone {
		t.Fatalf("crictl ps still lists the deleted pods' containers %v:\n%s", ids, out)
	}
}

// waitWebPods waits until the deployment has exactly three pods, all
// Running and Ready and none named in old, and returns them by name.
func (s *webScenario) waitWebPods(t *testing.T, old map[string]bool) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	ok := poll(180*time.Second, 2*time.Second, func() bool {
		pods = s.listWebPods(t)
		if len(pods) != 3 {
			return false
		}
		for _, p := range pods {
			if old[p.Name] || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(p) {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("want 3 new Running, Ready web pods; have %s", podSummary(pods))
	}
	return pods
}

func (s *webScenario) listWebPods(t *testing.T) []corev1.Pod {
	t.Helper()
	list, err := s.c.CoreV1().Pods(workloadNS).List(context.Background(), metav1.ListOptions{LabelSelector: webSelector})
	if err != nil {
		t.Fatalf("listing pods: %v", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func (s *webScenario) podNames() []string { return names(s.pods) }

// expectNodePort fetches the NodePort Service from the root namespace,
// over the test bridge to the node's IP.
func (s *webScenario) expectNodePort(t *testing.T) {
	t.Helper()
	svc, err := s.c.CoreV1().Services(workloadNS).Get(context.Background(), "web-np", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s:%d/", s.a.net.IP, svc.Spec.Ports[0].NodePort)
	client := &http.Client{Timeout: 5 * time.Second}
	var body string
	ok := poll(60*time.Second, 2*time.Second, func() bool {
		body, err = httpBody(client, url)
		return err == nil && slices.Contains(s.podNames(), body)
	})
	if !ok {
		t.Fatalf("NodePort %s: want one of %v, got %v %q", url, s.podNames(), err, body)
	}
}

// podState is what must not change when only kedge restarts.
type podState struct {
	Name        string
	ContainerID string
	Restarts    int32
}

func podStates(pods []corev1.Pod) map[string]podState {
	m := map[string]podState{}
	for _, p := range pods {
		st := podState{Name: p.Name}
		for _, cs := range p.Status.ContainerStatuses {
			st.ContainerID, st.Restarts = cs.ContainerID, cs.RestartCount
		}
		m[string(p.UID)] = st
	}
	return m
}

// containsAnyPrefix reports whether text holds the first n characters of
// any id (crictl ps truncates container IDs to 13).
func containsAnyPrefix(text string, ids []string, n int) bool {
	for _, id := range ids {
		if len(id) > n {
			id = id[:n]
		}
		if id != "" && strings.Contains(text, id) {
			return true
		}
	}
	return false
}

// TestAgentRejectsBadInput checks flags and host problems that must stop
// kedge before it starts anything. Each run still happens inside its own
// test node, so a start-up that wrongly goes ahead stays confined and is
// torn down with the node.
func TestAgentRejectsBadInput(t *testing.T) {
	t.Run("unknown flannel backend", func(t *testing.T) {
		a := newNetnsServer(t)
		out := a.expectEarlyFailure(t, nil, "--flannel-backend", "bogus")
		mustContain(t, "--flannel-backend bogus", out,
			"--flannel-backend", "bogus", "vxlan", "host-gw", "wireguard-native", "none")
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
