//go:build e2e

package tests

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

const (
	// busyboxImage is in every node: test nodes import it from
	// KEDGE_IMAGES_DIR (addImage), and the binary carries it too. Nothing
	// is ever pulled.
	busyboxImage = "kedge.local/busybox:1.35.0"
	wwwPort      = 8080
	// rolloutWait bounds each kubectl rollout status; tool() allows more.
	rolloutWait = "--timeout=180s"
)

// busybox is a workload of one busybox container, labelled app=<app>.
type busybox struct {
	name      string
	namespace string // "" is the default namespace
	app       string // "" is name
	replicas  int32  // of a Deployment; 0 is 1
	command   []string
	// www, when set, replaces command: the shell script fills /www, then
	// httpd serves it on wwwPort, and the pod is Ready once it answers.
	www  string
	node string // runs the pod on this node, past the scheduler
	// image replaces busyboxImage, pulled as pull says ("" is
	// IfNotPresent), with the credentials of pullSecret if set.
	image      string
	pull       corev1.PullPolicy
	pullSecret string
}

func (b busybox) appLabel() string {
	if b.app == "" {
		return b.name
	}
	return b.app
}

func (b busybox) labels() map[string]string { return map[string]string{"app": b.appLabel()} }

func (b busybox) meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: b.name, Namespace: b.namespace, Labels: b.labels()}
}

func (b busybox) podSpec() corev1.PodSpec {
	c := corev1.Container{
		Name:            b.appLabel(),
		Image:           cmp.Or(b.image, busyboxImage),
		ImagePullPolicy: cmp.Or(b.pull, corev1.PullIfNotPresent),
		Command:         b.command,
	}
	if b.www != "" {
		c.Command = []string{"sh", "-c", fmt.Sprintf("mkdir -p /www; %s; exec httpd -f -p %d -h /www", b.www, wwwPort)}
		c.Ports = []corev1.ContainerPort{{ContainerPort: wwwPort}}
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(wwwPort)}},
			PeriodSeconds: 2,
		}
	}
	spec := corev1.PodSpec{
		// sleep and httpd as PID 1 ignore SIGTERM: do not wait 30 s for them.
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		NodeName:                      b.node,
		Containers:                    []corev1.Container{c},
	}
	if b.pullSecret != "" {
		spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: b.pullSecret}}
	}
	return spec
}

func (b busybox) pod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: b.meta(),
		Spec:       b.podSpec(),
	}
}

func (b busybox) deployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: b.meta(),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(max(b.replicas, 1)),
			Selector: &metav1.LabelSelector{MatchLabels: b.labels()},
			Template: b.template(),
		},
	}
}

func (b busybox) daemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: b.meta(),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: b.labels()},
			Template: b.template(),
		},
	}
}

func (b busybox) template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: b.labels()}, Spec: b.podSpec()}
}

// yamlOf is obj as one YAML document, for apply.
func yamlOf(t *testing.T, obj any) string {
	t.Helper()
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func namespaceYAML(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", name)
}

// apply runs `kubectl apply` on a server with the YAML documents, in order.
func (n *node) apply(t *testing.T, docs ...string) {
	t.Helper()
	manifest := filepath.Join(t.TempDir(), "manifest.yaml")
	writeFile(t, manifest, strings.Join(docs, "---\n"))
	n.mustKubectl(t, "apply", "-f", manifest)
}

// expectFromPod fetches url with busybox wget inside pod, through server
// n, until the body is one of want. Retries cover kube-proxy and the
// bridge catching up.
func (n *node) expectFromPod(t *testing.T, ns, pod, url string, want ...string) {
	t.Helper()
	var out string
	var err error
	ok := poll(60*time.Second, 2*time.Second, func() bool {
		// The bundled busybox's wget -T crashes; timeout bounds it instead.
		out, err = n.kubectl("exec", "-n", ns, pod, "--", "timeout", "5", "wget", "-qO-", url)
		return err == nil && slices.Contains(want, strings.TrimSpace(out))
	})
	if !ok {
		t.Fatalf("from pod %s, %s: want one of %v, got %v %q", pod, url, want, err, out)
	}
}

// httpBody is the trimmed body of a 200 answer.
func httpBody(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s", resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podSummary is one line per pod: name, phase, readiness, waiting reason.
func podSummary(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "\n  %s %s ready=%v deleting=%v", p.Name, p.Status.Phase, podReady(p), p.DeletionTimestamp != nil)
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				fmt.Fprintf(&b, " waiting=%s: %s", w.Reason, w.Message)
			}
		}
	}
	if b.Len() == 0 {
		return "no pods"
	}
	return b.String()
}

func names(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}
