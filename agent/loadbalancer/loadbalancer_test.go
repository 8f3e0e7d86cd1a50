package loadbalancer

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// echoServer answers each line with "<name>: <line>" until closed.
func echoServer(t *testing.T, name string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					fmt.Fprintf(c, "%s: %s", name, line)
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

func startLB(t *testing.T, servers ...string) *LoadBalancer {
	t.Helper()
	lb := New(freePort(t), servers...)
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Stop(context.Background()) })
	return lb
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ask sends one line through the balancer and returns the answer.
func ask(t *testing.T, lb *LoadBalancer) (string, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", lb.listen)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(c, "hello")
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		c.Close()
		return "", nil
	}
	return strings.TrimSpace(answer), c
}

func TestForwardsAndFailsOver(t *testing.T) {
	a, b := echoServer(t, "a"), echoServer(t, "b")
	lb := startLB(t, a.Addr().String(), b.Addr().String())
	if got, c := ask(t, lb); got != "a: hello" {
		t.Fatalf("got %q, want a", got)
	} else {
		c.Close()
	}
	a.Close()
	if got, c := ask(t, lb); got != "b: hello" {
		t.Fatalf("after a went away: got %q, want b", got)
	} else {
		c.Close()
	}
	if s := lb.Servers(); s[0] != b.Addr().String() {
		t.Fatalf("b should be tried first now: %v", s)
	}
}

func TestSetServersDropsConnectionsToRemovedServers(t *testing.T) {
	a, b := echoServer(t, "a"), echoServer(t, "b")
	lb := startLB(t, a.Addr().String(), b.Addr().String())
	a.Close() // the connection below goes to b, a learned server
	got, c := ask(t, lb)
	if got != "b: hello" {
		t.Fatalf("got %q", got)
	}
	defer c.Close()
	lb.SetServers(nil)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatal("connection to a removed server stayed open")
	}
	for _, s := range lb.Servers() {
		if s == b.Addr().String() {
			t.Fatalf("removed server still listed: %v", lb.Servers())
		}
	}
}

func TestStopClosesEverythingAndPortIsReusable(t *testing.T) {
	a := echoServer(t, "a")
	lb := startLB(t, a.Addr().String())
	_, c := ask(t, lb)
	defer c.Close()
	if err := lb.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatal("proxied connection survived Stop")
	}
	again := New(lb.listen, a.Addr().String())
	if err := again.Start(context.Background()); err != nil {
		t.Fatalf("port not free after Stop: %v", err)
	}
	again.Stop(context.Background())
}

func TestStartOnBusyPortNamesTheAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	lb := New(busy.Addr().String(), "127.0.0.1:1")
	err = lb.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("got %v", err)
	}
}
