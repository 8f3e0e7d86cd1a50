//go:build e2e

package tests

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const readyLine = "kedge server is ready"

// TestServerKeepsStateAcrossRestart is the integration scenario:
// 100 ConfigMaps survive a SIGTERM and a second start on the same data dir.
func TestServerKeepsStateAcrossRestart(t *testing.T) {
	n := newNode(t)
	n.start()
	n.waitForLog(readyLine, 90*time.Second)

	ctx := context.Background()
	ns := "persist-test"
	c := n.client()
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
		other := newNode(t)
		other.args = append(other.args, "--https-listen-port", strconv.Itoa(n.port))
		out, code := runKedge(t, nil, other.args...)
		if code == 0 {
			t.Fatalf("second server exited 0:\n%s", out)
		}
		mustContain(t, "second server", out, "already in use", strconv.Itoa(n.port))
	})

	n.stop()
	n.start()
	n.waitForLog(readyLine, 90*time.Second)

	list, err := n.client().CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
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
	n.stop()
}
