package join

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/server/pki"
	"github.com/kedge-io/kedge/server/supervisor"
	"github.com/kedge-io/kedge/token"
)

// testServer runs the real supervisor behind TLS with the server CA's
// serving certificate for 127.0.0.1, as the apiserver's port would.
func testServer(t *testing.T) (*httptest.Server, []byte) {
	t.Helper()
	b, err := pki.Ensure(pki.Options{
		Dir: filepath.Join(t.TempDir(), "tls"), Hostname: "server1", NodeIPs: []net.IP{net.ParseIP("127.0.0.1")},
		ServiceIP: net.ParseIP("10.43.0.1"), ClusterDomain: "cluster.local",
	})
	if err != nil {
		t.Fatal(err)
	}
	serverCA, _ := pki.LoadAuthority(b.ServerCA, b.ServerCAKey)
	clientCA, _ := pki.LoadAuthority(b.ClientCA, b.ClientCAKey)
	caBundle, _ := os.ReadFile(b.ServerCA)
	clientBundle, _ := os.ReadFile(b.ClientCA)
	sup := supervisor.New(supervisor.Options{
		CABundle: caBundle, ClientCABundle: clientBundle, ServerCA: serverCA, ClientCA: clientCA,
		Cluster:      joinapi.ClusterConfig{ClusterCIDR: "10.42.0.0/16", FlannelBackend: "vxlan", KubeProxyMode: "iptables"},
		ServerSecret: "s3cret", Client: fake.NewClientset(),
	})
	cert, err := tls.LoadX509KeyPair(b.ServingCert, b.ServingKey)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(sup)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts, caBundle
}

func testOptions(t *testing.T, server string, tok token.Token) Options {
	return Options{
		Server: server, Token: tok, Files: Files{Dir: filepath.Join(t.TempDir(), "tls")},
		NodeName: "agent1", NodeIPs: []net.IP{net.ParseIP("10.0.0.2")}, LocalURL: "https://127.0.0.1:6444",
	}
}

func TestJoinThenRestartWithoutTheServer(t *testing.T) {
	ts, ca := testServer(t)
	o := testOptions(t, ts.URL, token.Token{CAHash: token.CAHash(ca), User: "server", Secret: "s3cret"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := Join(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if cluster.FlannelBackend != "vxlan" {
		t.Fatalf("cluster %+v", cluster)
	}
	for _, kind := range clientKinds {
		data, err := os.ReadFile(o.Files.Kubeconfig(kind))
		if err != nil || !strings.Contains(string(data), "https://127.0.0.1:6444") {
			t.Fatalf("%s kubeconfig: %v", kind, err)
		}
	}
	for _, f := range []string{o.Files.NodePassword(), o.Files.Key(joinapi.KubeletClient)} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	ts.Close()
	if _, err := Join(ctx, o); err != nil {
		t.Fatalf("restart with valid certificates needed the server: %v", err)
	}
	o.NodeIPs = append(o.NodeIPs, net.ParseIP("10.0.0.3"))
	if err := o.checkCert(joinapi.KubeletServing); err == nil {
		t.Fatal("a serving certificate without the new node IP still counts as current")
	}
}

func TestJoinRefusals(t *testing.T) {
	ts, ca := testServer(t)
	hash := token.CAHash(ca)
	tampered := "0" + hash[1:]
	if tampered == hash {
		tampered = "1" + hash[1:]
	}
	for name, tok := range map[string]token.Token{
		"wrong secret":  {CAHash: hash, User: "server", Secret: "wrong"},
		"tampered hash": {CAHash: tampered, User: "server", Secret: "s3cret"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := Join(ctx, testOptions(t, ts.URL, tok))
		cancel()
		if !isPermanent(err) {
			t.Errorf("%s: want a permanent refusal, got %v", name, err)
		}
	}
}

func TestShortTokenPinsTheFirstCA(t *testing.T) {
	ts, _ := testServer(t)
	o := testOptions(t, ts.URL, token.Token{Secret: "s3cret"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Join(ctx, o); err != nil {
		t.Fatal(err)
	}
	other, _ := testServer(t) // another cluster on another address
	if err := os.Remove(o.Files.Cluster()); err != nil {
		t.Fatal(err)
	}
	o.Server = other.URL
	if _, err := Join(ctx, o); !isPermanent(err) {
		t.Fatalf("a different CA was accepted after the first join: %v", err)
	}
}
