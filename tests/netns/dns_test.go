package netns

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// lookup sends one A query for name to node from's resolver, from
// inside that node, and returns the reply.
func lookup(t *testing.T, from *Node, name string) dnsmessage.Message {
	t.Helper()
	conn, err := ListenUDPIn("/run/netns/"+from.Name, &net.UDPAddr{IP: from.IP})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 7, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	}
	packed, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteToUDP(packed, &net.UDPAddr{IP: from.Resolver, Port: 53}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no reply from %s: %v", from.Resolver, err)
	}
	var reply dnsmessage.Message
	if err := reply.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return reply
}

func TestResolverAnswersInsideTheTopology(t *testing.T) {
	requireRoot(t)
	top := New(t, 2)
	reply := lookup(t, top.Nodes[1], UpstreamName+".")
	if reply.RCode != dnsmessage.RCodeSuccess || len(reply.Answers) != 1 {
		t.Fatalf("%s: rcode %v, %d answers", UpstreamName, reply.RCode, len(reply.Answers))
	}
	a := reply.Answers[0].Body.(*dnsmessage.AResource)
	if got := net.IP(a.A[:]).String(); got != UpstreamIP {
		t.Errorf("%s = %s, want %s", UpstreamName, got, UpstreamIP)
	}
	if reply := lookup(t, top.Nodes[1], "other.example."); reply.RCode != dnsmessage.RCodeNameError {
		t.Errorf("other.example: rcode %v, want NXDOMAIN", reply.RCode)
	}
}
