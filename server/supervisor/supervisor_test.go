package supervisor

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/server/pki"
)

func newTestSupervisor(t *testing.T) (*Supervisor, *fake.Clientset) {
	t.Helper()
	dir := t.TempDir()
	b, err := pki.Ensure(pki.Options{
		Dir: filepath.Join(dir, "tls"), Hostname: "server1", NodeIPs: []net.IP{net.ParseIP("10.0.0.1")},
		ServiceIP: net.ParseIP("10.43.0.1"), ClusterDomain: "cluster.local",
	})
	if err != nil {
		t.Fatal(err)
	}
	serverCA, err := pki.LoadAuthority(b.ServerCA, b.ServerCAKey)
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := pki.LoadAuthority(b.ClientCA, b.ClientCAKey)
	if err != nil {
		t.Fatal(err)
	}
	caBundle, _ := os.ReadFile(b.ServerCA)
	clientBundle, _ := os.ReadFile(b.ClientCA)
	client := fake.NewClientset()
	return New(Options{
		CABundle: caBundle, ClientCABundle: clientBundle, ServerCA: serverCA, ClientCA: clientCA,
		Cluster:      joinapi.ClusterConfig{ClusterCIDR: "10.42.0.0/16", FlannelBackend: "vxlan", KubeProxyMode: "iptables"},
		ServerSecret: "serversecret", AgentSecret: "agentsecret", Client: client,
	}), client
}

func do(s *Supervisor, method, path, credential string, body any) *httptest.ResponseRecorder {
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(data))
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

func TestCACertsNeedNoToken(t *testing.T) {
	s, _ := newTestSupervisor(t)
	w := do(s, http.MethodGet, joinapi.PathCACerts, "", nil)
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), s.opts.CABundle) {
		t.Fatalf("cacerts: %d %q", w.Code, w.Body.String())
	}
}

func TestConfigNeedsAValidToken(t *testing.T) {
	s, _ := newTestSupervisor(t)
	for cred, want := range map[string]int{
		"":                        http.StatusUnauthorized,
		"server:wrong":            http.StatusUnauthorized,
		"node:serversecret":       http.StatusUnauthorized, // --agent-token replaces the server secret for node:
		"server:serversecret":     http.StatusOK,
		"node:agentsecret":        http.StatusOK,
		"agentsecret":             http.StatusOK,
		"abcdef.0123456789abcdef": http.StatusUnauthorized, // no such bootstrap token
	} {
		w := do(s, http.MethodGet, joinapi.PathConfig, cred, nil)
		if w.Code != want {
			t.Errorf("credential %q: got %d, want %d (%s)", cred, w.Code, want, w.Body.String())
		}
	}
	w := do(s, http.MethodGet, joinapi.PathConfig, "server:serversecret", nil)
	var c joinapi.ClusterConfig
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c.FlannelBackend != "vxlan" {
		t.Fatalf("config %+v, %v", c, err)
	}
}

func certificateRequest(t *testing.T, node, password string) joinapi.CertificateRequest {
	t.Helper()
	req := joinapi.CertificateRequest{NodeName: node, NodePassword: password, NodeIPs: []string{"10.0.0.2"}, CSRs: map[string]string{}}
	for _, kind := range []string{joinapi.KubeletClient, joinapi.KubeletServing, joinapi.KubeProxy, joinapi.Flannel} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		if err != nil {
			t.Fatal(err)
		}
		req.CSRs[kind] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	}
	return req
}

func TestCertificatesSignedForTheNode(t *testing.T) {
	s, _ := newTestSupervisor(t)
	w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", certificateRequest(t, "agent1", "pw1"))
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	var resp joinapi.CertificateResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		joinapi.KubeletClient: "system:node:agent1", joinapi.KubeProxy: "system:kube-proxy",
		joinapi.Flannel: pki.FlannelUser, joinapi.KubeletServing: "agent1",
	}
	for kind, cn := range want {
		certs, err := certutil.ParseCertsPEM([]byte(resp.Certificates[kind]))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if certs[0].Subject.CommonName != cn {
			t.Errorf("%s: CN %q, want %q", kind, certs[0].Subject.CommonName, cn)
		}
	}
	serving, _ := certutil.ParseCertsPEM([]byte(resp.Certificates[joinapi.KubeletServing]))
	if err := serving[0].VerifyHostname("10.0.0.2"); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	if resp.ClientCA == "" {
		t.Error("no client CA")
	}
}

func TestNodeNameBelongsToTheFirstPassword(t *testing.T) {
	s, client := newTestSupervisor(t)
	if w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", certificateRequest(t, "agent1", "pw1")); w.Code != http.StatusOK {
		t.Fatalf("first join: %d %s", w.Code, w.Body.String())
	}
	// The same machine joins again, e.g. after losing its certificates.
	if w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", certificateRequest(t, "agent1", "pw1")); w.Code != http.StatusOK {
		t.Fatalf("re-join: %d %s", w.Code, w.Body.String())
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "agent1"}}
	if _, err := client.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", certificateRequest(t, "agent1", "other"))
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "kubectl delete node agent1") {
		t.Fatalf("another machine with the same name: %d %s", w.Code, w.Body.String())
	}
	// Once the operator deletes the node, the name is free again.
	if err := client.CoreV1().Nodes().Delete(t.Context(), "agent1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", certificateRequest(t, "agent1", "other")); w.Code != http.StatusOK {
		t.Fatalf("after kubectl delete node: %d %s", w.Code, w.Body.String())
	}
}

func TestServersOwnNodeCannotBeTaken(t *testing.T) {
	s, client := newTestSupervisor(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "server1"}}
	if _, err := client.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", certificateRequest(t, "server1", "pw")); w.Code != http.StatusForbidden {
		t.Fatalf("took over the server's node: %d %s", w.Code, w.Body.String())
	}
}

func TestBadRequestsNameTheProblem(t *testing.T) {
	s, _ := newTestSupervisor(t)
	req := certificateRequest(t, "agent1", "pw")
	delete(req.CSRs, joinapi.KubeProxy)
	w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", req)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), joinapi.KubeProxy) {
		t.Fatalf("missing CSR: %d %s", w.Code, w.Body.String())
	}
	req = certificateRequest(t, "Agent_1", "pw")
	if w := do(s, http.MethodPost, joinapi.PathCertificates, "server:serversecret", req); w.Code != http.StatusBadRequest {
		t.Fatalf("bad node name: %d %s", w.Code, w.Body.String())
	}
}
