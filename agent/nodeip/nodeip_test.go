package nodeip

import (
	"errors"
	"strings"
	"testing"
)

const routes = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth1	000AA8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	00000000	0100A8C0	0003	0	0	0	00000000	0	0	0
`

func TestDefaultRouteInterface(t *testing.T) {
	got, err := defaultRouteInterface(strings.NewReader(routes))
	if err != nil || got != "eth0" {
		t.Fatalf("got %q, %v; want eth0", got, err)
	}
}

func TestNoDefaultRoute(t *testing.T) {
	_, err := defaultRouteInterface(strings.NewReader(strings.Split(routes, "eth0")[0]))
	if !errors.Is(err, ErrNoDefaultRoute) || !strings.Contains(err.Error(), "--node-ip") {
		t.Fatalf("got %v, want ErrNoDefaultRoute naming --node-ip", err)
	}
}
