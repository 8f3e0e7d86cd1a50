package servicelb

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kedge-io/kedge/server/informers"
)

// start runs a Controller on a fake clientset holding objs until the test ends.
func start(t *testing.T, objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.New(client)
	c := New(client, factory.Shared(), WithReservedPorts(Port{corev1.ProtocolTCP, 6443}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := factory.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = factory.Stop(context.Background()) })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready after Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		if c.Ready(context.Background()) == nil {
			t.Error("Ready after Stop")
		}
	})
	return client
}

// eventually polls check for up to 5 s and fails with its last complaint.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		complaint := check()
		if complaint == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(complaint)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitIngress(t *testing.T, client *fake.Clientset, name string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	var got []string
	eventually(t, func() string {
		svc, err := client.CoreV1().Services("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		got = ingressIPs(t, svc.Status.LoadBalancer.Ingress)
		if !slices.Equal(got, want) {
			return "Service " + name + " ingress " + strings.Join(got, ",") + ", want " + strings.Join(want, ",")
		}
		return ""
	})
}

func statusPatches(client *fake.Clientset, name string) int {
	n := 0
	for _, a := range client.Actions() {
		if p, ok := a.(clienttesting.PatchAction); ok && p.GetSubresource() == "status" && p.GetName() == name {
			n++
		}
	}
	return n
}

func update[T runtime.Object](t *testing.T, obj T, put func(context.Context, T, metav1.UpdateOptions) (T, error)) {
	t.Helper()
	if _, err := put(context.Background(), obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestReadyNodesAndNotReadyRemoval(t *testing.T) {
	a := node("a", true, internal("10.0.0.1"), external("203.0.113.1"))
	b := node("b", true, internal("10.0.0.2"))
	c := node("c", false, internal("10.0.0.3"))
	client := start(t, a, b, c, lbService("web", 0, 80))
	waitIngress(t, client, "web", "10.0.0.2", "203.0.113.1")

	b = b.DeepCopy()
	b.Status.Conditions[0].Status = corev1.ConditionFalse
	update(t, b, client.CoreV1().Nodes().UpdateStatus)
	waitIngress(t, client, "web", "203.0.113.1")

	c = c.DeepCopy()
	c.Status.Conditions[0].Status = corev1.ConditionTrue
	update(t, c, client.CoreV1().Nodes().UpdateStatus)
	waitIngress(t, client, "web", "10.0.0.3", "203.0.113.1")
}

func TestLocalPolicyFollowsEndpoints(t *testing.T) {
	svc := lbService("web", 0, 80)
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	client := start(t, node("a", true, internal("10.0.0.1")), node("b", true, internal("10.0.0.2")), svc)
	waitIngress(t, client, "web")

	endpoints := slice("web", endpointOn("b", ptr.To(true)), endpointOn("a", ptr.To(false)))
	if _, err := client.DiscoveryV1().EndpointSlices("default").Create(context.Background(), endpoints, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress(t, client, "web", "10.0.0.2")

	endpoints.Endpoints[1].Conditions.Ready = nil
	update(t, endpoints, client.DiscoveryV1().EndpointSlices("default").Update)
	waitIngress(t, client, "web", "10.0.0.1", "10.0.0.2")

	if err := client.DiscoveryV1().EndpointSlices("default").Delete(context.Background(), endpoints.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress(t, client, "web")
}

func TestPortConflict(t *testing.T) {
	client := start(t, node("a", true, internal("10.0.0.1")),
		lbService("first", 0, 80), lbService("second", 1, 443, 80), lbService("api", 2, 6443))
	waitIngress(t, client, "first", "10.0.0.1")
	waitEvent(t, client, "second", "port 80/TCP is already used by Service default/first")
	waitEvent(t, client, "api", "port 6443/TCP is reserved for kedge")
	if n := statusPatches(client, "second"); n != 0 {
		t.Errorf("%d status patches on the pending Service, want none", n)
	}

	// A new node address requeues every Service; the conflict is not news.
	a := node("a", true, internal("10.0.0.1"), internal("10.0.0.9"))
	update(t, a, client.CoreV1().Nodes().UpdateStatus)
	waitIngress(t, client, "first", "10.0.0.1", "10.0.0.9")
	if n := eventWrites(client); n != 2 {
		t.Errorf("%d Event writes, want 2 (one per pending Service)", n)
	}

	if err := client.CoreV1().Services("default").Delete(context.Background(), "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress(t, client, "second", "10.0.0.1", "10.0.0.9")
}

func waitEvent(t *testing.T, client *fake.Clientset, service, message string) {
	t.Helper()
	eventually(t, func() string {
		events, err := client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err.Error()
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == service && e.Type == corev1.EventTypeWarning && e.Reason == ReasonPortConflict &&
				e.Source.Component == EventSource && strings.HasPrefix(e.Message, message) {
				return ""
			}
		}
		return "no PortConflict Event on " + service + " starting " + message
	})
}

func eventWrites(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "events" && (a.GetVerb() == "create" || a.GetVerb() == "patch") {
			n++
		}
	}
	return n
}

func TestLeavingLoadBalancerClearsStatus(t *testing.T) {
	client := start(t, node("a", true, internal("10.0.0.1")), lbService("web", 0, 80), lbService("other", 1, 81))
	waitIngress(t, client, "web", "10.0.0.1")
	waitIngress(t, client, "other", "10.0.0.1")

	svc, err := client.CoreV1().Services("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	update(t, svc, client.CoreV1().Services("default").Update)
	waitIngress(t, client, "web")

	svc, err = client.CoreV1().Services("default").Get(context.Background(), "other", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.LoadBalancerClass = ptr.To("example.com/elsewhere")
	update(t, svc, client.CoreV1().Services("default").Update)
	waitIngress(t, client, "other")
}

func TestForeignStatusIsLeftAlone(t *testing.T) {
	svc := lbService("metallb", 0, 80)
	svc.Spec.LoadBalancerClass = ptr.To("example.com/elsewhere")
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	client := start(t, node("a", true, internal("10.0.0.1")), svc, lbService("web", 1, 80))
	// web shares port 80 with the foreign Service, which kedge does not serve.
	waitIngress(t, client, "web", "10.0.0.1")
	if n := statusPatches(client, "metallb"); n != 0 {
		t.Errorf("%d status patches on a Service of another class, want none", n)
	}
}

func TestNoWriteWhenNothingChanged(t *testing.T) {
	a := node("a", true, internal("10.0.0.1"))
	client := start(t, a, lbService("web", 0, 80))
	waitIngress(t, client, "web", "10.0.0.1")

	// A heartbeat and a label change touch the node but not its addresses.
	a = a.DeepCopy()
	a.Labels = map[string]string{"example.com/rack": "2"}
	a.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
	update(t, a, client.CoreV1().Nodes().Update)
	// A new Service requeues every Service of ours, web included.
	if _, err := client.CoreV1().Services("default").Create(context.Background(), lbService("later", 1, 81), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress(t, client, "later", "10.0.0.1")
	if n := statusPatches(client, "web"); n != 1 {
		t.Errorf("%d status patches on web, want 1", n)
	}
}
