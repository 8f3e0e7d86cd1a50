package nodehosts

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kedge-io/kedge/server/informers"
)

func node(name string, addrs ...corev1.NodeAddress) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: addrs}}
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func TestHosts(t *testing.T) {
	nodes := []*corev1.Node{
		node("b", internal("10.0.0.2"), corev1.NodeAddress{Type: corev1.NodeHostName, Address: "b"}),
		node("a", internal("10.0.0.1"), corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "192.0.2.1"}, internal("10.0.0.1")),
		node("c", internal("not-an-ip")),
	}
	want := "10.0.0.1 a\n10.0.0.2 b\n192.0.2.1 a\n"
	if got := Hosts(nodes); got != want {
		t.Errorf("Hosts = %q, want %q", got, want)
	}
	if got := Hosts(nil); got != "" {
		t.Errorf("Hosts(nil) = %q, want empty", got)
	}
}

func nodeHosts(ctx context.Context, c *fake.Clientset) string {
	cm, err := c.CoreV1().ConfigMaps(Namespace).Get(ctx, ConfigMap, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return cm.Data[Key]
}

// start runs a Controller on client's informers, as the server does,
// until the test ends.
func start(t *testing.T, client *fake.Clientset) {
	t.Helper()
	ctx := context.Background()
	factory := informers.New(client)
	coredns := factory.Object(Namespace, ConfigMap)
	c := New(client, factory.Shared().Core().V1().Nodes(), coredns.Core().V1().ConfigMaps())
	if err := factory.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Stop(ctx)
		_ = factory.Stop(ctx)
	})
}

func waitFor(t *testing.T, c *fake.Clientset, want string) {
	t.Helper()
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		return nodeHosts(ctx, c) == want, nil
	})
	if err != nil {
		t.Fatalf("NodeHosts = %q, want %q", nodeHosts(ctx, c), want)
	}
}

func TestControllerFollowsNodesAndKeepsOtherKeys(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(
		node("n1", internal("10.0.0.1")),
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMap, Namespace: Namespace},
			Data:       map[string]string{"Corefile": ".:53 {}"},
		},
	)
	start(t, client)
	waitFor(t, client, "10.0.0.1 n1\n")

	if _, err := client.CoreV1().Nodes().Create(ctx, node("n2", internal("10.0.0.2")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, client, "10.0.0.1 n1\n10.0.0.2 n2\n")

	if err := client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, client, "10.0.0.2 n2\n")

	cm, _ := client.CoreV1().ConfigMaps(Namespace).Get(ctx, ConfigMap, metav1.GetOptions{})
	if cm.Data["Corefile"] != ".:53 {}" {
		t.Errorf("Corefile changed to %q", cm.Data["Corefile"])
	}
}

func TestControllerRestoresEditedKey(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(node("n1", internal("10.0.0.1")))
	start(t, client)
	waitFor(t, client, "10.0.0.1 n1\n")
	cm, _ := client.CoreV1().ConfigMaps(Namespace).Get(ctx, ConfigMap, metav1.GetOptions{})
	cm.Data[Key] = "stale"
	if _, err := client.CoreV1().ConfigMaps(Namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, client, "10.0.0.1 n1\n")
}
