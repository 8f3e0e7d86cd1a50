package loadbalancer

import (
	"context"
	"net"
	"strconv"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// Follow keeps the server list equal to the ready endpoints of the
// `kubernetes` Service until ctx ends. While no server answers it retries
// with backoff, logging once per failure streak.
func (lb *LoadBalancer) Follow(ctx context.Context, client kubernetes.Interface) {
	backoff := wait.Backoff{Duration: time.Second, Factor: 2, Cap: 30 * time.Second, Steps: 1 << 30}
	failing := false
	for ctx.Err() == nil {
		err := lb.watch(ctx, client)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !failing {
			klog.Warningf("load balancer %s: cannot follow the apiserver endpoints, retrying: %v", lb.listen, err)
		}
		failing = err != nil
		delay := time.Second
		if failing {
			delay = backoff.Step()
		} else {
			backoff.Duration, backoff.Steps = time.Second, 1<<30
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
}

// watch lists, applies and then follows changes until the watch ends.
func (lb *LoadBalancer) watch(ctx context.Context, client kubernetes.Interface) error {
	slices := client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault)
	opts := metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"}
	list, err := slices.List(ctx, opts)
	if err != nil {
		return err
	}
	lb.apply(list.Items)
	opts.ResourceVersion = list.ResourceVersion
	w, err := slices.Watch(ctx, opts)
	if err != nil {
		return err
	}
	defer w.Stop()
	for range w.ResultChan() {
		list, err := slices.List(ctx, metav1.ListOptions{LabelSelector: opts.LabelSelector})
		if err != nil {
			return err
		}
		lb.apply(list.Items)
	}
	return nil
}

func (lb *LoadBalancer) apply(items []discoveryv1.EndpointSlice) {
	if servers := readyServers(items); len(servers) > 0 {
		lb.SetServers(servers)
	}
}

// readyServers turns EndpointSlices into host:port; an endpoint without
// a Ready condition counts as ready, as the API documents.
func readyServers(items []discoveryv1.EndpointSlice) []string {
	var out []string
	for _, s := range items {
		for _, port := range s.Ports {
			if port.Port == nil || (port.Name != nil && *port.Name != "https") {
				continue
			}
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, addr := range ep.Addresses {
					out = append(out, net.JoinHostPort(addr, strconv.Itoa(int(*port.Port))))
				}
			}
		}
	}
	return out
}
