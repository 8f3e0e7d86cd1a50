package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/component"
)

const dialTimeout = 3 * time.Second

// LoadBalancer accepts on a local address and proxies each connection to
// a server, preferring the last one that answered.
type LoadBalancer struct {
	listen   string
	fallback string // the user's --server, never dropped

	mu       sync.Mutex
	servers  []string            // learned, without fallback
	current  string              // last server that answered
	failing  map[string]bool     // servers whose last dial failed
	conns    map[net.Conn]string // proxied client conns → server
	listener net.Listener
	wg       sync.WaitGroup

	// endpoints, when set, is followed from Start to Stop.
	endpoints kubernetes.Interface
	cancel    context.CancelFunc
}

// New returns a balancer on listen that forwards to servers ("host:port");
// the first is the user's and stays a candidate whatever is learned later.
func New(listen string, servers ...string) *LoadBalancer {
	lb := &LoadBalancer{listen: listen, failing: map[string]bool{}, conns: map[net.Conn]string{}}
	if len(servers) > 0 {
		lb.fallback, lb.current = servers[0], servers[0]
		lb.servers = slices.Clone(servers[1:])
	}
	return lb
}

// FollowEndpoints makes the running balancer learn the servers from the
// `kubernetes` Service's endpoints that client reads (see Follow).
func (lb *LoadBalancer) FollowEndpoints(client kubernetes.Interface) {
	lb.endpoints = client
}

// Name implements component.Component.
func (lb *LoadBalancer) Name() string { return "loadbalancer" }

// Start listens and serves in the background, and follows the endpoints
// when asked to.
func (lb *LoadBalancer) Start(context.Context) error {
	l, err := net.Listen("tcp", lb.listen)
	if err != nil {
		return fmt.Errorf("%s is in use or unavailable (another kedge agent on this host?): %w", lb.listen, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lb.mu.Lock()
	lb.listener, lb.cancel = l, cancel
	lb.mu.Unlock()
	lb.wg.Add(1)
	go lb.serve(l)
	if lb.endpoints != nil {
		lb.wg.Add(1)
		go func() {
			defer lb.wg.Done()
			lb.Follow(ctx, lb.endpoints)
		}()
	}
	return nil
}

// Ready is healthy while listening.
func (lb *LoadBalancer) Ready(context.Context) error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.listener == nil {
		return errors.New("not listening")
	}
	return nil
}

// Stop closes the listener and every proxied connection.
func (lb *LoadBalancer) Stop(ctx context.Context) error {
	lb.mu.Lock()
	if lb.listener != nil {
		lb.listener.Close()
		lb.listener = nil
		lb.cancel()
	}
	for c := range lb.conns {
		c.Close()
	}
	lb.mu.Unlock()
	return component.WaitGroup(ctx, &lb.wg, "the load balancer's connections and endpoint watch")
}

// Servers returns the candidates in the order they are tried.
func (lb *LoadBalancer) Servers() []string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.candidates()
}

// SetServers replaces the learned servers and closes connections to
// servers no longer listed, so their clients reconnect to a live one.
func (lb *LoadBalancer) SetServers(servers []string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	servers = slices.DeleteFunc(slices.Clone(servers), func(s string) bool { return s == lb.fallback })
	slices.Sort(servers)
	if slices.Equal(servers, lb.servers) {
		return
	}
	klog.Infof("load balancer %s: servers %v (and %s from --server)", lb.listen, servers, lb.fallback)
	lb.servers = servers
	for c, server := range lb.conns {
		if server != lb.fallback && !slices.Contains(servers, server) {
			c.Close()
		}
	}
}

// candidates puts the last good server first, then healthy ones, then
// those that failed last time. Callers hold mu.
func (lb *LoadBalancer) candidates() []string {
	all := append([]string{lb.fallback}, lb.servers...)
	all = slices.DeleteFunc(all, func(s string) bool { return s == "" })
	slices.SortStableFunc(all, func(a, b string) int {
		return lb.rank(a) - lb.rank(b)
	})
	return slices.Compact(all)
}

func (lb *LoadBalancer) rank(s string) int {
	switch {
	case s == lb.current:
		return 0
	case !lb.failing[s]:
		return 1
	default:
		return 2
	}
}

func (lb *LoadBalancer) serve(l net.Listener) {
	defer lb.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed by Stop
		}
		lb.wg.Add(1)
		go func() {
			defer lb.wg.Done()
			lb.proxy(c)
		}()
	}
}

func (lb *LoadBalancer) proxy(client net.Conn) {
	defer client.Close()
	server, upstream := lb.dial()
	if upstream == nil {
		return
	}
	defer upstream.Close()
	if !lb.track(client, server) {
		return
	}
	defer lb.untrack(client)
	done := make(chan struct{}, 2)
	go pipe(upstream, client, done)
	go pipe(client, upstream, done)
	<-done
	<-done
}

// pipe copies one direction and half-closes the other side, so a client
// that finished sending still gets the rest of the answer.
func pipe(dst, src net.Conn, done chan<- struct{}) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		dst.Close()
	}
	done <- struct{}{}
}

// dial tries the candidates in turn and remembers which answered.
func (lb *LoadBalancer) dial() (string, net.Conn) {
	lb.mu.Lock()
	candidates := lb.candidates()
	lb.mu.Unlock()
	for _, s := range candidates {
		c, err := net.DialTimeout("tcp", s, dialTimeout)
		lb.mu.Lock()
		if err != nil {
			if !lb.failing[s] {
				klog.Warningf("load balancer %s: server %s is not answering: %v", lb.listen, s, err)
			}
			lb.failing[s] = true
			lb.mu.Unlock()
			continue
		}
		if lb.failing[s] || lb.current != s {
			klog.Infof("load balancer %s: using server %s", lb.listen, s)
		}
		delete(lb.failing, s)
		lb.current = s
		lb.mu.Unlock()
		return s, c
	}
	return "", nil
}

// track registers a proxied connection unless Stop already ran.
func (lb *LoadBalancer) track(c net.Conn, server string) bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.listener == nil {
		return false
	}
	lb.conns[c] = server
	return true
}

func (lb *LoadBalancer) untrack(c net.Conn) {
	lb.mu.Lock()
	delete(lb.conns, c)
	lb.mu.Unlock()
}
