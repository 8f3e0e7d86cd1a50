//go:build e2e

package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kedge-io/kedge/tests/netns"
)

// Aims of the packaged-components issue (4).
const (
	aimPackagedReady = 20 * time.Second  // issue 13
	aimNodeIdleRSS   = 700 * 1000 * 1000 // kedge, containerd, shims and system pods
	dnsQueries       = 200
)

// TestPackagedBenchmark starts a server from an empty data dir with its
// embedded images, times it to all packaged pods Ready, then measures
// CoreDNS from inside a pod's network namespace, ingress throughput from
// the root namespace with wrk, and the idle node's RSS including the
// system pods. It reports; it never fails on a figure.
func TestPackagedBenchmark(t *testing.T) {
	requireBench(t)
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk not found: `make bench` installs it (Debian package wrk)")
	}
	rssAfter := envInt(t, "RSS_AFTER", 60)
	a := newNetnsServer(t)
	a.prepareMountNS(t)
	start := time.Now()
	a.startReady(t)
	p := &packaged{a: a, c: a.client(t)}
	var summary string
	if !poll(240*time.Second, 250*time.Millisecond, func() bool {
		var ok bool
		summary, ok = p.deploymentPods(context.Background(), podReady)
		return ok
	}) {
		t.Fatalf("packaged pods not Ready within 240s: %s", summary)
	}
	allReady := time.Since(start)
	serverDisk := diskUse(t, filepath.Join(a.dataDir, "agent", "containerd"))
	p.deployApps(t)
	dnsLat := p.dnsLatency(t)
	reqs := p.ingressRate(t)
	p.a.mustKubectl(t, "delete", "namespace", pkgNS, "--timeout=120s")
	time.Sleep(time.Duration(rssAfter) * time.Second)
	idle := sampleProcs(t, a.cmd.Process.Pid)

	benchHeader("packaged components: one server, empty data dir, embedded images, test network namespace")
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		benchRow("images archive "+arch+" (OCI, zstd layers)", archiveSize(arch), "")
	}
	benchRow("cold start to all packaged pods Ready", ms(allReady), aimDur(allReady, aimPackagedReady))
	benchRow("server's containerd disk use then", mib(serverDisk), "")
	benchRow(fmt.Sprintf("CoreDNS query from a pod, median of %d", len(dnsLat)), us(median(dnsLat)), "")
	benchRow("  p95", us(percentile(dnsLat, 95)), "")
	benchRow("ingress requests/s (wrk, busybox httpd)", reqs, "")
	nodeRSS := idle.rss(roleKedge, roleContainerd, roleOther, roleShim, rolePod)
	benchRow(fmt.Sprintf("idle node RSS %ds after the apps left", rssAfter), mib(nodeRSS), aimBytes(nodeRSS, aimNodeIdleRSS))
	benchRow("  kedge", mib(idle.rss(roleKedge)), "")
	benchRow("  containerd + shims", mib(idle.rss(roleContainerd, roleShim, roleOther)), "")
	benchRow(fmt.Sprintf("  system pods' processes (%d)", idle.count(rolePod)), mib(idle.rss(rolePod)), "")
	fmt.Print(`
DNS: A queries for kubernetes.default.svc.cluster.local sent to the
  cluster DNS IP from the client pod's network namespace, one at a time,
  timed by the test. Ingress: wrk -t2 -c16 -d10s from the root namespace
  to node-IP:80 with Host a.example.test (Traefik -> busybox httpd).
RSS sums VmRSS of kedge, its descendants, the shims and their pods.
`)
	fmt.Println()
}

// archiveSize is the size of dist/kedge-images-ARCH.tar, if built.
func archiveSize(arch string) string {
	dir := os.Getenv("KEDGE_DIST_DIR")
	if dir == "" {
		return "KEDGE_DIST_DIR unset"
	}
	fi, err := os.Stat(filepath.Join(dir, "kedge-images-"+arch+".tar"))
	if err != nil {
		return "not built"
	}
	return fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
}

// dnsLatency times A queries to the cluster DNS from the client pod's
// network namespace, reached through its pause process's /proc entry.
func (p *packaged) dnsLatency(t *testing.T) []time.Duration {
	t.Helper()
	pid := p.podPID(t, "client")
	conn, err := netns.ListenUDPIn(fmt.Sprintf("/proc/%d/ns/net", pid), &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dns, err := p.c.CoreV1().Services("kube-system").Get(context.Background(), "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	server := &net.UDPAddr{IP: net.ParseIP(dns.Spec.ClusterIP), Port: 53}
	name := dnsmessage.MustNewName("kubernetes.default.svc.cluster.local.")
	buf := make([]byte, 1500)
	var lat []time.Duration
	for i := 0; len(lat) < dnsQueries && i < 2*dnsQueries; i++ {
		q := dnsmessage.Message{
			Header:    dnsmessage.Header{ID: uint16(i), RecursionDesired: true},
			Questions: []dnsmessage.Question{{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
		}
		packed, _ := q.Pack()
		sent := time.Now()
		if _, err := conn.WriteToUDP(packed, server); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := conn.Read(buf); err == nil && n > 0 {
			lat = append(lat, time.Since(sent))
		}
	}
	if len(lat) < dnsQueries/2 {
		t.Fatalf("only %d of %d DNS queries answered", len(lat), dnsQueries)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// podPID is the host PID of a pod's sandbox, from crictl.
func (p *packaged) podPID(t *testing.T, pod string) int {
	t.Helper()
	id, err := p.a.crictl("pods", "-q", "--name", pod, "--namespace", pkgNS)
	ids := sandboxIDs(id)
	if err != nil || len(ids) == 0 {
		t.Fatalf("crictl pods %s: %v %q", pod, err, id)
	}
	out, err := p.a.crictl("inspectp", "-o", "go-template", "--template", "{{.info.pid}}", ids[0])
	if err != nil {
		t.Fatalf("crictl inspectp: %v %s", err, out)
	}
	m := regexp.MustCompile(`(?m)^\d+$`).FindString(out)
	pid, err := strconv.Atoi(m)
	if err != nil {
		t.Fatalf("sandbox pid of %s: %q", pod, out)
	}
	return pid
}

// ingressRate runs wrk against Traefik on the node IP and returns its
// Requests/sec line's figure.
func (p *packaged) ingressRate(t *testing.T) string {
	t.Helper()
	ip := p.a.net.IP.String()
	p.expectCurl(t, "app-a", "--resolve", "a.example.test:80:"+ip, "http://a.example.test/")
	out, err := exec.Command("wrk", "-t2", "-c16", "-d10s", "-H", "Host: a.example.test", "http://"+ip+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Requests/sec:" {
			return f[1]
		}
	}
	t.Fatalf("no Requests/sec in wrk's output:\n%s", out)
	return ""
}
