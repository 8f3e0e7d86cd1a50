//go:build e2e

package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestServerKeepsStateAcrossRestart is the integration scenario:
// 100 ConfigMaps survive a SIGTERM and a second start on the same data dir.
func TestServerKeepsStateAcrossRestart(t *testing.T) {
	n := newHostServer(t)
	n.startReady(t)

	t.Run("kedge status reports every component ready", func(t *testing.T) {
		out, code := runKedge(t, nil, "status", "--run-dir", n.runDir, "--wait", "1m")
		if code != 0 {
			t.Fatalf("kedge status exited %d:\n%s", code, out)
		}
		mustContain(t, "kedge status", out, "kedge server (pid ", "): ready", "datastore", "kube-apiserver", "kube-scheduler")
		if strings.Contains(out, "not ready") {
			t.Fatalf("a component is not ready:\n%s", out)
		}
	})

	ctx := context.Background()
	ns := "persist-test"
	c := n.client(t)
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i)},
			Data:       map[string]string{"index": strconv.Itoa(i), "payload": fmt.Sprintf("value-%d", i*i)},
		}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", cm.Name, err)
		}
	}

	t.Run("second server on the same port fails", func(t *testing.T) {
		out := newHostServer(t).expectFailure(t, nil, "--https-listen-port", strconv.Itoa(n.port))
		mustContain(t, "second server", out, "already in use", strconv.Itoa(n.port))
	})

	n.stop(t)
	n.startReady(t)

	list, err := n.client(t).CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, cm := range list.Items {
		got[cm.Name] = cm.Data
	}
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("cm-%03d", i)
		data, ok := got[name]
		if !ok {
			t.Fatalf("%s missing after restart", name)
		}
		if data["index"] != strconv.Itoa(i) || data["payload"] != fmt.Sprintf("value-%d", i*i) {
			t.Fatalf("%s changed across restart: %v", name, data)
		}
	}

	out, code := runKedge(t, []string{"KUBECONFIG=", "KEDGE_WRITE_KUBECONFIG=" + n.kubeconfig}, "kubectl", "get", "ns")
	if code != 0 {
		t.Fatalf("kedge kubectl get ns exited %d:\n%s", code, out)
	}
	mustContain(t, "kedge kubectl get ns", out, ns, "kube-system", "default")
	n.stop(t)

	out, code = runKedge(t, nil, "status", "--run-dir", n.runDir)
	if code == 0 {
		t.Fatalf("kedge status of a stopped server exited 0:\n%s", out)
	}
	mustContain(t, "kedge status after stop", out, "no kedge answers on "+filepath.Join(n.runDir, "status.sock"))
}
