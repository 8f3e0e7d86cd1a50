package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

// The topology's resolver stands in for a site's own DNS server: it
// answers one name and nothing else, so a test can see that CoreDNS
// forwards to the resolv.conf kedge was given, and no query ever leaves
// the test's namespaces.
const (
	UpstreamName = "upstream.kedge.test"
	// UpstreamIP (RFC 5737) is only returned as data, never contacted.
	UpstreamIP = "192.0.2.53"
)

// resolver serves DNS on UDP port 53 of one node's address, from a socket
// this test process holds, so it outlives the node's kedge restarts.
type resolver struct {
	conn *net.UDPConn
	done chan struct{}
}

// startResolver opens the socket inside n's network namespace and answers
// queries until close.
func startResolver(n *Node) (*resolver, error) {
	conn, err := ListenUDPIn("/run/netns/"+n.Name, &net.UDPAddr{IP: n.IP, Port: 53})
	if err != nil {
		return nil, fmt.Errorf("resolver in %s: %w", n.Name, err)
	}
	r := &resolver{conn: conn, done: make(chan struct{})}
	go r.serve()
	return r, nil
}

// ListenUDPIn creates a UDP socket in the network namespace at nsPath (a
// netns file, or /proc/<pid>/ns/net of a pod's process): a socket stays in
// the namespace it was created in, so only this OS thread has to switch,
// and it switches back before it is released.
func ListenUDPIn(nsPath string, addr *net.UDPAddr) (*net.UDPConn, error) {
	runtime.LockOSThread()
	own, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer own.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("entering %s: %w", nsPath, err)
	}
	conn, listenErr := net.ListenUDP("udp4", addr)
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the other namespace: never unlock it,
		// so the runtime retires it instead of reusing it.
		return nil, errors.Join(listenErr, fmt.Errorf("returning from %s: %w", nsPath, err))
	}
	runtime.UnlockOSThread()
	return conn, listenErr
}

func (r *resolver) serve() {
	defer close(r.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		if reply, err := answer(buf[:n]); err == nil {
			_, _ = r.conn.WriteToUDP(reply, from)
		}
	}
}

// answer replies to one query: an A record for UpstreamName, NXDOMAIN for
// every other name.
func answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	h.Response, h.RecursionAvailable, h.Authoritative = true, true, true
	name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
	known := name == UpstreamName
	if !known {
		h.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if known && q.Type == dnsmessage.TypeA {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		var a dnsmessage.AResource
		copy(a.A[:], net.ParseIP(UpstreamIP).To4())
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		if err := b.AResource(rh, a); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

func (r *resolver) close() {
	r.conn.Close()
	<-r.done
}
