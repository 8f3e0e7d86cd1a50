//go:build e2e

package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/bcrypt"

	"github.com/kedge-io/kedge/tests/netns"
)

// testCA signs the certificates of the test's registries.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "kedge test registry CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serving returns a PEM certificate for ip signed by the CA, and its key.
func (ca *testCA) serving(t *testing.T, ip net.IP) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: ip.String()},
		IPAddresses:  []net.IP{ip},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// testRegistry is the CNCF distribution registry (Debian's docker-registry,
// KEDGE_REGISTRY_BIN) that a test runs in one of its test nodes, the
// site's LAN registry.
type testRegistry struct {
	host       string // ip:port, the registry name in references
	tls        bool
	ca         *testCA // set with tls
	user, pass string  // htpasswd credentials, when set
}

// registrySpec says how a test registry serves.
type registrySpec struct {
	port       int
	ca         *testCA // serve TLS with a certificate from ca
	user, pass string  // require htpasswd basic auth
}

// startRegistry runs a registry in the test node in; cleanup stops it by PID.
func startRegistry(t *testing.T, in *netns.Node, spec registrySpec) *testRegistry {
	t.Helper()
	bin := os.Getenv("KEDGE_REGISTRY_BIN")
	if bin == "" {
		t.Fatal("KEDGE_REGISTRY_BIN is not set; `make test-integration` unpacks Debian's docker-registry and exports it")
	}
	dir := t.TempDir()
	r := &testRegistry{host: fmt.Sprintf("%s:%d", in.IP, spec.port), tls: spec.ca != nil, ca: spec.ca, user: spec.user, pass: spec.pass}
	cfg := fmt.Sprintf("version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), r.host)
	if spec.ca != nil {
		cert, key := spec.ca.serving(t, in.IP)
		writeFile(t, filepath.Join(dir, "cert.pem"), string(cert))
		writeFile(t, filepath.Join(dir, "key.pem"), string(key))
		cfg += fmt.Sprintf("  tls: {certificate: %s/cert.pem, key: %s/key.pem}\n", dir, dir)
	}
	if spec.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(spec.pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "htpasswd"), spec.user+":"+string(hash)+"\n")
		cfg += fmt.Sprintf("auth: {htpasswd: {realm: kedge-test, path: %s/htpasswd}}\n", dir)
	}
	writeFile(t, filepath.Join(dir, "config.yml"), cfg)
	var log syncBuffer
	cmd := in.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("registry %s log:\n%s", r.host, tail(log.String(), 40))
		}
	})
	if !poll(30*time.Second, 200*time.Millisecond, func() bool {
		resp, err := r.httpClient().Get(r.url() + "/v2/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatalf("registry %s did not answer:\n%s", r.host, log.String())
	}
	return r
}

func (r *testRegistry) url() string {
	if r.tls {
		return "https://" + r.host
	}
	return "http://" + r.host
}

// httpClient trusts the registry's CA: the test pushes from the root
// namespace, over the topology's bridge.
func (r *testRegistry) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if r.ca != nil {
		pool := x509.NewCertPool()
		pool.AddCert(r.ca.cert)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// push uploads img as repo:tag and returns the reference nodes pull.
func (r *testRegistry) push(t *testing.T, img v1.Image, repoTag string) string {
	t.Helper()
	var opts []name.Option
	if !r.tls {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(r.host+"/"+repoTag, opts...)
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.Anonymous
	if r.user != "" {
		auth = &authn.Basic{Username: r.user, Password: r.pass}
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(r.httpClient().Transport)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.String()
}

// testImage is the busybox image of KEDGE_IMAGES_DIR, which every test
// registry serves under its own names.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	dir := os.Getenv("KEDGE_IMAGES_DIR")
	if dir == "" {
		t.Fatal("KEDGE_IMAGES_DIR is not set; `make test-integration` exports it (dist/images/amd64)")
	}
	img, err := tarball.ImageFromPath(filepath.Join(dir, "busybox.tar"), nil)
	if err != nil {
		t.Fatalf("test image: %v", err)
	}
	return img
}

// logCount is how often the current run logged text.
func (n *node) logCount(text string) int { return strings.Count(n.runLog(), text) }

// waitForLogCount waits until the current run logged text more than
// before times.
func (n *node) waitForLogCount(t *testing.T, text string, before int, timeout time.Duration) string {
	t.Helper()
	if !poll(timeout, 250*time.Millisecond, func() bool { return n.logCount(text) > before }) {
		t.Fatalf("kedge did not log %q (again) within %s:\n%s", text, timeout, tail(n.runLog(), 60))
	}
	for _, line := range strings.Split(n.runLog(), "\n") {
		if strings.Contains(line, text) {
			before--
			if before < 0 {
				return line
			}
		}
	}
	return ""
}

// ctrImages lists the references in the node's containerd (k8s.io
// namespace) by name, leaving out the digest references the CRI adds.
func (n *node) ctrImages(t *testing.T) []string {
	t.Helper()
	out, err := n.tool(n.crictlEnv(), toolTimeout, "ctr", "images", "ls", "-q")
	if err != nil {
		t.Fatalf("kedge ctr images ls: %v\n%s", err, out)
	}
	var refs []string
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.Contains(line, "@sha256:") && !strings.HasPrefix(line, "sha256:") {
			refs = append(refs, line)
		}
	}
	return refs
}
