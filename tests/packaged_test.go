//go:build e2e

package tests

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kedge-io/kedge/tests/netns"
)

const pkgNS = "e2e-pkg"

// packagedApps are the workloads the packaged components are checked
// with: two web apps (B also answers on /b, and has a CPU request for the
// autoscaler), a headless Service over A, and a pod to run lookups from,
// in pkgNS, which deployApps creates first for the TLS Secret.
func packagedApps(t *testing.T) []string {
	appA := busybox{name: "app-a", namespace: pkgNS, www: "echo app-a > /www/index.html"}
	appB := busybox{name: "app-b", namespace: pkgNS, www: "echo app-b > /www/index.html; echo app-b > /www/b"}.deployment()
	appB.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m")}
	client := busybox{name: "client", namespace: pkgNS, command: []string{"sleep", "100000"}}
	return []string{yamlOf(t, appA.deployment()), yamlOf(t, appB), yamlOf(t, client.pod()), packagedRoutes}
}

// packagedRoutes are the apps' Services and Ingresses.
const packagedRoutes = `apiVersion: v1
kind: Service
metadata: {name: app-a, namespace: e2e-pkg}
spec:
  selector: {app: app-a}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: app-b, namespace: e2e-pkg}
spec:
  selector: {app: app-b}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: peers, namespace: e2e-pkg}
spec:
  clusterIP: None
  selector: {app: app-a}
  ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: e2e-pkg}
spec:
  rules:
  - host: a.example.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: app-a, port: {number: 80}}}}
  - http:
      paths:
      - {path: /b, pathType: Prefix, backend: {service: {name: app-b, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls, namespace: e2e-pkg}
spec:
  tls: [{hosts: [tls.example.test], secretName: tls-cert}]
  rules:
  - host: tls.example.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: app-a, port: {number: 80}}}}
`

// packagedPods are the Deployments kedge deploys in kube-system.
var packagedPods = []string{"coredns", "local-path-provisioner", "metrics-server", "traefik"}

// TestPackagedComponents starts one server from the binary alone (its
// embedded images, no archive added, no registry) and uses each packaged
// component the way a user would. The steps share the node and stop at
// the first failure.
func TestPackagedComponents(t *testing.T) {
	a := newNetnsServer(t)
	a.startReady(t)
	p := &packaged{a: a, c: a.client(t)}
	a.waitNodeReady(t, time.Time{}, 120*time.Second)
	p.ready = time.Now()
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"packaged pods run from embedded images", p.systemPods},
		{"manifests dir is applied, updated and pruned", p.manifestsDir},
		{"apps for the checks run", p.deployApps},
		{"DNS resolves services, pods, nodes and upstream", p.dns},
		{"ingress routes by host and path, and TLS", p.ingress},
		{"LoadBalancer services get the node IP", p.loadBalancer},
		{"local-path volume keeps data", p.storage},
		{"metrics serve top and the autoscaler", p.metrics},
		{"nothing was pulled from outside", p.nothingPulled},
		{"disabled traefik is removed", p.disableTraefik},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

type packaged struct {
	a     *node
	c     *kubernetes.Clientset
	ready time.Time // node Ready
}

func (p *packaged) systemPods(t *testing.T) {
	ctx := context.Background()
	var summary string
	running := poll(60*time.Second, time.Second, func() bool {
		var ok bool
		summary, ok = p.deploymentPods(ctx, func(pod corev1.Pod) bool { return pod.Status.Phase == corev1.PodRunning })
		return ok
	})
	if !running {
		t.Fatalf("packaged pods not all Running 60s after node Ready: %s", summary)
	}
	t.Logf("packaged pods Running %s after node Ready", time.Since(p.ready).Round(100*time.Millisecond))
	if !poll(120*time.Second, time.Second, func() bool {
		var ok bool
		summary, ok = p.deploymentPods(ctx, podReady)
		return ok
	}) {
		t.Fatalf("packaged pods not all Ready: %s", summary)
	}
	t.Logf("packaged pods Ready %s after node Ready", time.Since(p.ready).Round(100*time.Millisecond))
	p.nothingPulled(t)
}

// deploymentPods reports whether every packaged Deployment has a pod for
// which ok holds, with a summary of kube-system's pods.
func (p *packaged) deploymentPods(ctx context.Context, ok func(corev1.Pod) bool) (string, bool) {
	list, err := p.c.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error(), false
	}
	for _, name := range packagedPods {
		found := false
		for _, pod := range list.Items {
			found = found || (strings.HasPrefix(pod.Name, name+"-") && pod.DeletionTimestamp == nil && ok(pod))
		}
		if !found {
			return podSummary(list.Items), false
		}
	}
	return podSummary(list.Items), true
}

// nothingPulled checks that no image was pulled from anywhere but the
// node's own built-in registry: the kubelet emits a Pulling event before
// every pull, and containerd logs each CRI PullImage call.
func (p *packaged) nothingPulled(t *testing.T) {
	events, err := p.c.CoreV1().Events("").List(context.Background(), metav1.ListOptions{FieldSelector: "reason=Pulling"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if !strings.Contains(e.Message, `"kedge.local/`) {
			t.Errorf("image pull from outside the node: %s/%s: %s", e.InvolvedObject.Namespace, e.InvolvedObject.Name, e.Message)
		}
	}
	log := readFile(t, filepath.Join(p.a.dataDir, "agent", "containerd", "containerd.log"))
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "PullImage") && !strings.Contains(line, "kedge.local/") {
			t.Errorf("containerd was asked to pull from outside the node: %s", line)
		}
	}
}

func (p *packaged) manifestsDir(t *testing.T) {
	dir := filepath.Join(p.a.dataDir, "server", "manifests")
	good := filepath.Join(dir, "e2e-good.yaml")
	writeFile(t, good, manifestConfigMap("e2e-one", "1"))
	p.waitConfigMap(t, "e2e-one", "1")
	begin := time.Now()
	writeFile(t, good, manifestConfigMap("e2e-one", "2"))
	p.waitConfigMap(t, "e2e-one", "2")
	t.Logf("edit applied after %s", time.Since(begin).Round(100*time.Millisecond))

	broken := filepath.Join(dir, "e2e-broken.yaml")
	writeFile(t, broken, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e2e-broken\n")
	writeFile(t, filepath.Join(dir, "e2e-beside.yaml"), manifestConfigMap("e2e-beside", "1"))
	p.waitConfigMap(t, "e2e-beside", "1")
	p.waitEvent(t, "e2e-broken.yaml")
	writeFile(t, broken, manifestConfigMap("e2e-broken", "fixed"))
	p.waitConfigMap(t, "e2e-broken", "fixed")

	skipped := filepath.Join(dir, "e2e-skipped.yaml")
	writeFile(t, skipped+".skip", "")
	writeFile(t, skipped, manifestConfigMap("e2e-skipped", "1"))
	// A file written after the skipped one is applied, so the skipped
	// one had its chance.
	writeFile(t, filepath.Join(dir, "e2e-after.yaml"), manifestConfigMap("e2e-after", "1"))
	p.waitConfigMap(t, "e2e-after", "1")
	if _, err := p.c.CoreV1().ConfigMaps("default").Get(context.Background(), "e2e-skipped", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("e2e-skipped.yaml has a .skip file but its ConfigMap exists (err %v)", err)
	}

	if err := os.Remove(good); err != nil {
		t.Fatal(err)
	}
	p.waitGone(t, "ConfigMap default/e2e-one", func(ctx context.Context) error {
		_, err := p.c.CoreV1().ConfigMaps("default").Get(ctx, "e2e-one", metav1.GetOptions{})
		return err
	})
}

func manifestConfigMap(name, value string) string {
	return fmt.Sprintf("# e2e\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: default}\ndata: {v: %q}\n", name, value)
}

func (p *packaged) waitConfigMap(t *testing.T, name, value string) {
	t.Helper()
	var got string
	if !poll(30*time.Second, 250*time.Millisecond, func() bool {
		cm, err := p.c.CoreV1().ConfigMaps("default").Get(context.Background(), name, metav1.GetOptions{})
		got = fmt.Sprint(err)
		if err == nil {
			got = cm.Data["v"]
		}
		return got == value
	}) {
		t.Fatalf("ConfigMap default/%s: v = %q, want %q; log:\n%s", name, got, value, tail(p.a.runLog(), 30))
	}
}

// waitEvent waits for a Warning Event whose message names file.
func (p *packaged) waitEvent(t *testing.T, file string) {
	t.Helper()
	if !poll(30*time.Second, time.Second, func() bool {
		events, err := p.c.CoreV1().Events("").List(context.Background(), metav1.ListOptions{FieldSelector: "type=Warning"})
		if err != nil {
			return false
		}
		for _, e := range events.Items {
			if strings.Contains(e.Message, file) {
				t.Logf("event %s: %s", e.Reason, e.Message)
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no Warning event names %s; log:\n%s", file, tail(p.a.runLog(), 30))
	}
}

// waitGone waits until get reports NotFound.
func (p *packaged) waitGone(t *testing.T, what string, get func(context.Context) error) {
	t.Helper()
	var err error
	if !poll(60*time.Second, 500*time.Millisecond, func() bool {
		err = get(context.Background())
		return apierrors.IsNotFound(err)
	}) {
		t.Fatalf("%s still there (get: %v)", what, err)
	}
}

func (p *packaged) deployApps(t *testing.T) {
	ctx := context.Background()
	if _, err := p.c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pkgNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSigned(t, "tls.example.test")
	writeFile(t, filepath.Join(p.a.dir, "tls-ca.pem"), string(certPEM))
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tls-cert", Namespace: pkgNS},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
	if _, err := p.c.CoreV1().Secrets(pkgNS).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p.a.apply(t, packagedApps(t)...)
	for _, d := range []string{"deployment/app-a", "deployment/app-b"} {
		p.a.mustKubectl(t, "rollout", "status", "-n", pkgNS, d, rolloutWait)
	}
	p.a.mustKubectl(t, "wait", "-n", pkgNS, "--for=condition=Ready", "pod/client", "--timeout=120s")
}

// selfSigned returns a PEM certificate for host, its own CA, and its key.
func selfSigned(t *testing.T, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func (p *packaged) dns(t *testing.T) {
	ctx := context.Background()
	kube, err := p.c.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appA, err := p.c.CoreV1().Services(pkgNS).Get(ctx, "app-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := p.c.CoreV1().Pods(pkgNS).List(ctx, metav1.ListOptions{LabelSelector: "app=app-a"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("app-a pods: %v", err)
	}
	podIP := pods.Items[0].Status.PodIP
	// busybox nslookup ignores the search path; ping resolves through
	// the C library like most programs, with the pod's search domains.
	p.expectResolved(t, "kubernetes.default", kube.Spec.ClusterIP)
	p.expectResolved(t, p.a.name, p.a.net.IP.String()) // from NodeHosts
	for _, c := range []struct{ name, want string }{
		{"kubernetes.default.svc.cluster.local", kube.Spec.ClusterIP},
		{"app-a." + pkgNS + ".svc.cluster.local", appA.Spec.ClusterIP},
		{"peers." + pkgNS + ".svc.cluster.local", podIP},
		{strings.ReplaceAll(podIP, ".", "-") + ".peers." + pkgNS + ".svc.cluster.local", podIP},
		{p.a.name + ".", p.a.net.IP.String()},
		{netns.UpstreamName, netns.UpstreamIP},
	} {
		p.expectLookup(t, c.name, c.want)
	}
	out := p.a.mustKubectl(t, "exec", "-n", pkgNS, "client", "--", "timeout", "5", "wget", "-qO-", "http://app-a."+pkgNS+".svc.cluster.local/")
	if strings.TrimSpace(out) != "app-a" {
		t.Fatalf("wget by service name: %q", out)
	}
}

// expectResolved pings name once from the client pod: its first line,
// "PING name (IP)", shows what the C library's resolver made of it. The
// ping itself may go unanswered (a ClusterIP does not answer ICMP).
func (p *packaged) expectResolved(t *testing.T, name, want string) {
	t.Helper()
	var out string
	if !poll(60*time.Second, 2*time.Second, func() bool {
		out, _ = p.a.kubectl("exec", "-n", pkgNS, "client", "--", "ping", "-c1", "-W1", name)
		return strings.Contains(out, "PING "+name+" ("+want+")")
	}) {
		t.Fatalf("ping %s: want it resolved to %s; got\n%s", name, want, out)
	}
}

// expectLookup runs busybox nslookup in the client pod until its answer
// holds want.
func (p *packaged) expectLookup(t *testing.T, name, want string) {
	t.Helper()
	var out string
	var err error
	if !poll(60*time.Second, 2*time.Second, func() bool {
		out, err = p.a.kubectl("exec", "-n", pkgNS, "client", "--", "nslookup", name)
		return err == nil && strings.Contains(answerSection(out), want)
	}) {
		t.Fatalf("nslookup %s: want %s; got %v\n%s", name, want, err, out)
	}
}

// answerSection drops nslookup's first lines, which name the server.
func answerSection(out string) string {
	if i := strings.Index(out, "Name:"); i >= 0 {
		return out[i:]
	}
	return ""
}

func (p *packaged) ingress(t *testing.T) {
	ip := p.a.net.IP.String()
	p.expectCurl(t, "app-a", "--resolve", "a.example.test:80:"+ip, "http://a.example.test/")
	p.expectCurl(t, "app-b", "http://"+ip+"/b")
	p.expectCurl(t, "app-a", "--cacert", filepath.Join(p.a.dir, "tls-ca.pem"),
		"--resolve", "tls.example.test:443:"+ip, "https://tls.example.test/")
}

// expectCurl runs curl in the root namespace, over the test bridge, until
// the body is want.
func (p *packaged) expectCurl(t *testing.T, want string, args ...string) {
	t.Helper()
	var out []byte
	var err error
	argv := append([]string{"-sS", "--fail", "--max-time", "5", "--noproxy", "*"}, args...)
	if !poll(90*time.Second, 2*time.Second, func() bool {
		out, err = exec.Command("curl", argv...).CombinedOutput()
		return err == nil && strings.TrimSpace(string(out)) == want
	}) {
		t.Fatalf("curl %s: want %q, got %v %q", strings.Join(args, " "), want, err, out)
	}
}

func (p *packaged) loadBalancer(t *testing.T) {
	ctx := context.Background()
	ip := p.a.net.IP.String()
	if got := p.waitIngressIP(t, "kube-system", "traefik"); got != ip {
		t.Errorf("traefik LoadBalancer ingress %s, want the node IP %s", got, ip)
	}
	p.createLB(t, "lb-a", "app-a")
	if got := p.waitIngressIP(t, pkgNS, "lb-a"); got != ip {
		t.Fatalf("lb-a ingress %s, want the node IP %s", got, ip)
	}
	p.expectCurl(t, "app-a", fmt.Sprintf("http://%s:8081/", ip))

	// A second Service on the same port waits for the first to go.
	p.createLB(t, "lb-b", "app-b")
	p.waitEventOn(t, pkgNS, "lb-b", "PortConflict")
	svc, err := p.c.CoreV1().Services(pkgNS).Get(ctx, "lb-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("lb-b conflicts with lb-a on port 8081 but got %v", svc.Status.LoadBalancer.Ingress)
	}
	if err := p.c.CoreV1().Services(pkgNS).Delete(ctx, "lb-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := p.waitIngressIP(t, pkgNS, "lb-b"); got != ip {
		t.Fatalf("lb-b ingress %s after lb-a went, want %s", got, ip)
	}
	p.expectCurl(t, "app-b", fmt.Sprintf("http://%s:8081/", ip))
}

func (p *packaged) createLB(t *testing.T, name, app string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pkgNS},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": app},
			Ports:    []corev1.ServicePort{{Port: 8081, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := p.c.CoreV1().Services(pkgNS).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitIngressIP waits for a LoadBalancer Service's first ingress address.
func (p *packaged) waitIngressIP(t *testing.T, ns, name string) string {
	t.Helper()
	var got string
	if !poll(60*time.Second, time.Second, func() bool {
		svc, err := p.c.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && len(svc.Status.LoadBalancer.Ingress) > 0 {
			got = svc.Status.LoadBalancer.Ingress[0].IP
		}
		return got != ""
	}) {
		t.Fatalf("Service %s/%s got no LoadBalancer ingress", ns, name)
	}
	return got
}

// waitEventOn waits for an Event with reason about the named object.
func (p *packaged) waitEventOn(t *testing.T, ns, name, reason string) {
	t.Helper()
	sel := fmt.Sprintf("involvedObject.name=%s,reason=%s", name, reason)
	if !poll(60*time.Second, time.Second, func() bool {
		events, err := p.c.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: sel})
		if err == nil && len(events.Items) > 0 {
			t.Logf("event %s: %s", reason, events.Items[0].Message)
		}
		return err == nil && len(events.Items) > 0
	}) {
		t.Fatalf("no %s event on %s/%s", reason, ns, name)
	}
}

// volumePod writes (or reads) /data/file on the claim "data".
func volumePod(t *testing.T, name, script string) string {
	pod := busybox{name: name, namespace: pkgNS, command: []string{"sh", "-c", script}}.pod()
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"},
	}}}
	return yamlOf(t, pod)
}

const claim = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: e2e-pkg}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
`

func (p *packaged) storage(t *testing.T) {
	ctx := context.Background()
	p.a.apply(t, claim)
	p.a.apply(t, volumePod(t, "writer", "echo kept > /data/file; sleep 100000"))
	p.a.mustKubectl(t, "wait", "-n", pkgNS, "--for=condition=Ready", "pod/writer", "--timeout=120s")
	pvc, err := p.c.CoreV1().PersistentVolumeClaims(pkgNS).Get(ctx, "data", metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim data not Bound: %v %v", pvc.Status.Phase, err)
	}
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "local-path" {
		t.Errorf("claim got storage class %v, want the default local-path", pvc.Spec.StorageClassName)
	}
	pv, err := p.c.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := volumeDir(pv)
	if !strings.HasPrefix(dir, filepath.Join(p.a.dataDir, "storage")+"/") {
		t.Errorf("volume at %q, want under %s/storage", dir, p.a.dataDir)
	}
	p.a.mustKubectl(t, "delete", "pod", "-n", pkgNS, "writer", "--timeout=60s")
	p.a.apply(t, volumePod(t, "reader", "cat /data/file; sleep 100000"))
	p.a.mustKubectl(t, "wait", "-n", pkgNS, "--for=condition=Ready", "pod/reader", "--timeout=120s")
	if out := p.a.mustKubectl(t, "logs", "-n", pkgNS, "reader"); strings.TrimSpace(out) != "kept" {
		t.Fatalf("the new pod reads %q from the volume, want \"kept\"", out)
	}
	p.a.mustKubectl(t, "delete", "pod", "-n", pkgNS, "reader", "--timeout=60s")
	p.a.mustKubectl(t, "delete", "pvc", "-n", pkgNS, "data", "--timeout=60s")
	if !poll(90*time.Second, time.Second, func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	}) {
		t.Fatalf("volume directory %s still there after its claim was deleted", dir)
	}
}

func volumeDir(pv *corev1.PersistentVolume) string {
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path
	}
	return ""
}

func (p *packaged) metrics(t *testing.T) {
	begin := time.Now()
	p.expectTop(t, []string{"top", "nodes"}, p.a.name)
	p.expectTop(t, []string{"top", "pods", "-A"}, "coredns-")
	t.Logf("kubectl top answered %s after the metrics step began", time.Since(begin).Round(time.Second))
	p.a.mustKubectl(t, "autoscale", "deployment/app-b", "-n", pkgNS, "--cpu-percent=50", "--min=1", "--max=2")
	var last string
	if !poll(180*time.Second, 5*time.Second, func() bool {
		hpa, err := p.c.AutoscalingV2().HorizontalPodAutoscalers(pkgNS).Get(context.Background(), "app-b", metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false
		}
		for _, m := range hpa.Status.CurrentMetrics {
			if m.Resource != nil && m.Resource.Current.AverageUtilization != nil {
				t.Logf("HPA app-b: current CPU %d%%", *m.Resource.Current.AverageUtilization)
				return true
			}
		}
		last = fmt.Sprintf("%+v", hpa.Status)
		return false
	}) {
		t.Fatalf("HPA app-b reports no CPU utilisation: %s", last)
	}
}

// expectTop runs kubectl top until it prints a line for want with numbers.
func (p *packaged) expectTop(t *testing.T, args []string, want string) {
	t.Helper()
	var out string
	var err error
	if !poll(90*time.Second, 3*time.Second, func() bool {
		out, err = p.a.kubectl(args...)
		line := lineWith(out, want)
		return err == nil && strings.Contains(line, "m ") && strings.Contains(line, "Mi")
	}) {
		t.Fatalf("kubectl %s: no figures for %s: %v\n%s", strings.Join(args, " "), want, err, out)
	}
}

func (p *packaged) disableTraefik(t *testing.T) {
	p.a.stop(t)
	p.a.args = append(p.a.args, "--disable", "traefik")
	p.a.startReady(t)
	ctx := context.Background()
	p.waitGone(t, "Deployment kube-system/traefik", func(ctx context.Context) error {
		_, err := p.c.AppsV1().Deployments("kube-system").Get(ctx, "traefik", metav1.GetOptions{})
		return err
	})
	p.waitGone(t, "Service kube-system/traefik", func(ctx context.Context) error {
		_, err := p.c.CoreV1().Services("kube-system").Get(ctx, "traefik", metav1.GetOptions{})
		return err
	})
	p.waitGone(t, "IngressClass traefik", func(ctx context.Context) error {
		_, err := p.c.NetworkingV1().IngressClasses().Get(ctx, "traefik", metav1.GetOptions{})
		return err
	})
	if _, err := os.Stat(filepath.Join(p.a.dataDir, "server", "manifests", "traefik.yaml")); !os.IsNotExist(err) {
		t.Errorf("traefik.yaml still in the manifests dir (stat: %v)", err)
	}
	// The other components stay.
	if _, err := p.c.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{}); err != nil {
		t.Errorf("coredns: %v", err)
	}
}
