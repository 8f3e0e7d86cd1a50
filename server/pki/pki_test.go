package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/util/keyutil"
)

func testOptions(dir string, now time.Time) Options {
	return Options{
		Dir:           filepath.Join(dir, "server", "tls"),
		Hostname:      "node1",
		NodeIPs:       []net.IP{net.ParseIP("192.168.1.10")},
		ServiceIP:     net.ParseIP("10.43.0.1"),
		ClusterDomain: "cluster.local",
		ExtraSANs:     []string{"203.0.113.7", "api.example.com"},
		Now:           func() time.Time { return now },
	}
}

// testNow is whole seconds because certificates cannot store anything finer.
func testNow() time.Time { return time.Now().Truncate(time.Second) }

func mustEnsure(t *testing.T, opts Options) *Bundle {
	t.Helper()
	b, err := Ensure(opts)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return b
}

func snapshot(t *testing.T, paths ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = data
	}
	return out
}

func assertUnchanged(t *testing.T, before map[string][]byte) {
	t.Helper()
	for p, data := range before {
		now, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(now, data) {
			t.Errorf("%s changed", filepath.Base(p))
		}
	}
}

func loadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cert, err := readCert(path)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func verify(cert, ca *x509.Certificate, usage x509.ExtKeyUsage, dnsName string, at time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{
		Roots: roots, DNSName: dnsName, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage},
	})
	return err
}

func (b *Bundle) cas() []string {
	return []string{b.ServerCA, b.ServerCAKey, b.ClientCA, b.ClientCAKey, b.RequestHeaderCA, b.RequestHeaderCAKey}
}

func (b *Bundle) clientCerts() []string {
	return []string{b.AdminCert, b.ControllerCert, b.SchedulerCert, b.SupervisorCert, b.KubeletClientCert, b.FrontProxyClientCert}
}

func (b *Bundle) leafCerts() []string {
	return append([]string{b.ServingCert}, b.clientCerts()...)
}

func TestEnsureCreatesPrivateFiles(t *testing.T) {
	opts := testOptions(t.TempDir(), testNow())
	b := mustEnsure(t, opts)

	fi, err := os.Stat(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o, want 700", fi.Mode().Perm())
	}
	for _, f := range b.files() {
		if !filepath.IsAbs(f) {
			t.Errorf("%s is not absolute", f)
		}
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", filepath.Base(f), fi.Mode().Perm())
		}
	}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(b.files()) {
		t.Errorf("dir holds %d entries, want %d (leftover temp files?)", len(entries), len(b.files()))
	}
}

func TestEnsureKeysAreP256(t *testing.T) {
	b := mustEnsure(t, testOptions(t.TempDir(), testNow()))
	for _, f := range b.files() {
		if !strings.HasSuffix(f, ".key") {
			continue
		}
		key, err := keyutil.PrivateKeyFromFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
			t.Errorf("%s: %T is not ECDSA P-256", filepath.Base(f), key)
		}
	}
	pubs, err := keyutil.PublicKeysFromFile(b.ServiceAccountPub)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := keyutil.PrivateKeyFromFile(b.ServiceAccountKey)
	if !key.(*ecdsa.PrivateKey).PublicKey.Equal(pubs[0]) {
		t.Error("service-account.pub does not match service-account.key")
	}
}

func TestEnsureCAs(t *testing.T) {
	now := testNow()
	b := mustEnsure(t, testOptions(t.TempDir(), now))
	for file, prefix := range map[string]string{
		b.ServerCA: "kedge-server-ca", b.ClientCA: "kedge-client-ca", b.RequestHeaderCA: "kedge-request-header-ca",
	} {
		ca := loadCert(t, file)
		if want := fmt.Sprintf("%s@%d", prefix, now.Unix()); ca.Subject.CommonName != want {
			t.Errorf("CN %q, want %q", ca.Subject.CommonName, want)
		}
		if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Errorf("%s: IsCA=%v KeyUsage=%b", prefix, ca.IsCA, ca.KeyUsage)
		}
		if !ca.NotBefore.Equal(now.Add(-time.Minute)) || !ca.NotAfter.Equal(now.Add(10*365*24*time.Hour)) {
			t.Errorf("%s valid %s..%s", prefix, ca.NotBefore, ca.NotAfter)
		}
	}
}

func TestEnsureServingCert(t *testing.T) {
	now := testNow()
	b := mustEnsure(t, testOptions(t.TempDir(), now))
	cert := loadCert(t, b.ServingCert)

	wantDNS := []string{"node1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "api.example.com"}
	for _, n := range wantDNS {
		if !slices.Contains(cert.DNSNames, n) {
			t.Errorf("serving cert lacks DNS SAN %s (has %v)", n, cert.DNSNames)
		}
	}
	for _, ip := range []string{"192.168.1.10", "127.0.0.1", "::1", "10.43.0.1", "203.0.113.7"} {
		if !slices.ContainsFunc(cert.IPAddresses, net.ParseIP(ip).Equal) {
			t.Errorf("serving cert lacks IP SAN %s (has %v)", ip, cert.IPAddresses)
		}
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage %v, want ServerAuth", cert.ExtKeyUsage)
	}
	if !cert.NotBefore.Equal(now.Add(-time.Minute)) || !cert.NotAfter.Equal(now.Add(365*24*time.Hour)) {
		t.Errorf("valid %s..%s", cert.NotBefore, cert.NotAfter)
	}
	serverCA, clientCA := loadCert(t, b.ServerCA), loadCert(t, b.ClientCA)
	if err := verify(cert, serverCA, x509.ExtKeyUsageServerAuth, "kubernetes.default.svc.cluster.local", now); err != nil {
		t.Errorf("serving cert does not verify against server CA: %v", err)
	}
	if err := verify(cert, clientCA, x509.ExtKeyUsageServerAuth, "kubernetes.default.svc.cluster.local", now); err == nil {
		t.Error("serving cert verifies against client CA")
	}
}

func TestEnsureClientCerts(t *testing.T) {
	now := testNow()
	b := mustEnsure(t, testOptions(t.TempDir(), now))
	clientCA, requestHeaderCA := loadCert(t, b.ClientCA), loadCert(t, b.RequestHeaderCA)
	for _, tc := range []struct {
		file, cn, org string
		ca, wrongCA   *x509.Certificate
	}{
		{b.AdminCert, "system:admin", "system:masters", clientCA, requestHeaderCA},
		{b.ControllerCert, "system:kube-controller-manager", "", clientCA, requestHeaderCA},
		{b.SchedulerCert, "system:kube-scheduler", "", clientCA, requestHeaderCA},
		{b.SupervisorCert, "system:kedge-supervisor", "system:masters", clientCA, requestHeaderCA},
		{b.KubeletClientCert, "system:kube-apiserver", "system:masters", clientCA, requestHeaderCA},
		{b.FrontProxyClientCert, "system:auth-proxy", "", requestHeaderCA, clientCA},
		{b.NodeClientCert, "system:node:node1", "system:nodes", clientCA, requestHeaderCA},
		{b.KubeProxyCert, "system:kube-proxy", "", clientCA, requestHeaderCA},
		{b.FlannelCert, "system:kedge-flannel", "", clientCA, requestHeaderCA},
	} {
		cert := loadCert(t, tc.file)
		name := filepath.Base(tc.file)
		if cert.Subject.CommonName != tc.cn || strings.Join(cert.Subject.Organization, ",") != tc.org {
			t.Errorf("%s subject %s, want CN=%s O=%s", name, cert.Subject, tc.cn, tc.org)
		}
		if err := verify(cert, tc.ca, x509.ExtKeyUsageClientAuth, "", now); err != nil {
			t.Errorf("%s does not verify as client cert: %v", name, err)
		}
		if err := verify(cert, tc.wrongCA, x509.ExtKeyUsageClientAuth, "", now); err == nil {
			t.Errorf("%s verifies against the wrong CA", name)
		}
		if cert.SerialNumber.BitLen() <= 64 || cert.SerialNumber.BitLen() > 128 {
			t.Errorf("%s serial has %d bits, want a random 128-bit value", name, cert.SerialNumber.BitLen())
		}
	}
}

func TestEnsureKubeletServingCert(t *testing.T) {
	now := testNow()
	b := mustEnsure(t, testOptions(t.TempDir(), now))
	cert := loadCert(t, b.KubeletServingCert)
	if err := verify(cert, loadCert(t, b.ServerCA), x509.ExtKeyUsageServerAuth, "node1", now); err != nil {
		t.Errorf("kubelet serving cert does not verify for the node name: %v", err)
	}
	if err := cert.VerifyHostname("192.168.1.10"); err != nil {
		t.Errorf("kubelet serving cert lacks the node IP: %v", err)
	}
}

func TestEnsureReissuesNodeCertsForNewNodeName(t *testing.T) {
	now := testNow()
	opts := testOptions(t.TempDir(), now)
	mustEnsure(t, opts)
	opts.NodeName = "renamed"
	b := mustEnsure(t, opts)
	if cn := loadCert(t, b.NodeClientCert).Subject.CommonName; cn != "system:node:renamed" {
		t.Errorf("node client cert CN %q after renaming the node", cn)
	}
	if err := loadCert(t, b.KubeletServingCert).VerifyHostname("renamed"); err != nil {
		t.Errorf("kubelet serving cert after renaming: %v", err)
	}
}

func TestEnsureReusesEverything(t *testing.T) {
	opts := testOptions(t.TempDir(), testNow())
	b := mustEnsure(t, opts)
	before := snapshot(t, b.files()...)

	mustEnsure(t, opts)
	assertUnchanged(t, before)
}

func TestEnsureRenewsLeavesNearExpiry(t *testing.T) {
	dir, now := t.TempDir(), testNow()
	b := mustEnsure(t, testOptions(dir, now))
	keep := snapshot(t, append(b.cas(), b.ServiceAccountKey, b.ServiceAccountPub, b.AdminKey, b.ServingKey)...)
	oldNotAfter := map[string]time.Time{}
	for _, f := range b.leafCerts() {
		oldNotAfter[f] = loadCert(t, f).NotAfter
	}

	later := now.Add(300 * 24 * time.Hour)
	mustEnsure(t, testOptions(dir, later))

	assertUnchanged(t, keep) // CAs, service-account key and leaf keys are all kept
	for _, f := range b.leafCerts() {
		if got := loadCert(t, f).NotAfter; !got.After(oldNotAfter[f]) {
			t.Errorf("%s not renewed: NotAfter %s", filepath.Base(f), got)
		}
	}
	if err := verify(loadCert(t, b.AdminCert), loadCert(t, b.ClientCA), x509.ExtKeyUsageClientAuth, "", later); err != nil {
		t.Errorf("renewed admin cert does not verify: %v", err)
	}
}

func TestEnsureAddsNewExtraSAN(t *testing.T) {
	dir, now := t.TempDir(), testNow()
	opts := testOptions(dir, now)
	b := mustEnsure(t, opts)
	keep := snapshot(t, append(b.cas(), append(b.clientCerts(), b.ServingKey)...)...)
	oldServing := snapshot(t, b.ServingCert)

	opts.ExtraSANs = append(opts.ExtraSANs, "new.example.com", "198.51.100.9")
	mustEnsure(t, opts)

	assertUnchanged(t, keep)
	if bytes.Equal(oldServing[b.ServingCert], snapshot(t, b.ServingCert)[b.ServingCert]) {
		t.Fatal("serving cert not reissued")
	}
	cert := loadCert(t, b.ServingCert)
	if missing := missingSANs(cert, []string{"new.example.com", "api.example.com", "node1"},
		[]net.IP{net.ParseIP("198.51.100.9"), net.ParseIP("203.0.113.7")}); len(missing) > 0 {
		t.Errorf("reissued serving cert lacks %v", missing)
	}
}

func TestEnsureReissuesLeafFromAnotherCA(t *testing.T) {
	now := testNow()
	opts := testOptions(t.TempDir(), now)
	b := mustEnsure(t, opts)
	other := mustEnsure(t, testOptions(t.TempDir(), now))
	for from, to := range map[string]string{other.AdminCert: b.AdminCert, other.AdminKey: b.AdminKey} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	mustEnsure(t, opts)
	if err := verify(loadCert(t, b.AdminCert), loadCert(t, b.ClientCA), x509.ExtKeyUsageClientAuth, "", now); err != nil {
		t.Errorf("admin cert from a foreign CA was kept: %v", err)
	}
}

func TestEnsureReplacesCorruptLeafKey(t *testing.T) {
	opts := testOptions(t.TempDir(), testNow())
	b := mustEnsure(t, opts)
	if err := os.WriteFile(b.SchedulerKey, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}

	mustEnsure(t, opts)
	key, err := readSigner(b.SchedulerKey)
	if err != nil {
		t.Fatal(err)
	}
	if !matchesKey(loadCert(t, b.SchedulerCert), key) {
		t.Error("scheduler cert was not reissued for the new key")
	}
}

func TestEnsureTightensLooseModes(t *testing.T) {
	opts := testOptions(t.TempDir(), testNow())
	b := mustEnsure(t, opts)
	if err := os.Chmod(b.ClientCAKey, 0o644); err != nil {
		t.Fatal(err)
	}

	mustEnsure(t, opts)
	fi, err := os.Stat(b.ClientCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("client-ca.key mode %o, want 600", fi.Mode().Perm())
	}
}

// snapshotDir captures every file so a test can prove nothing was created,
// removed or modified.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	return snapshot(t, paths...)
}

func assertErrorNames(t *testing.T, opts Options, file string) {
	t.Helper()
	before := snapshotDir(t, opts.Dir)
	_, err := Ensure(opts)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("Ensure error = %v, want one naming %s", err, file)
	}
	if after := snapshotDir(t, opts.Dir); !maps.EqualFunc(before, after, bytes.Equal) {
		t.Error("failed Ensure changed the tls dir")
	}
}

func TestEnsureRefusesDamagedCA(t *testing.T) {
	for name, damage := range map[string]func(path string) error{
		"corrupt key": func(p string) error { return os.WriteFile(p, []byte("not a key"), 0o600) },
		"missing key": os.Remove,
		"foreign key": func(p string) error {
			data, err := keyutil.MakeEllipticPrivateKeyPEM()
			if err != nil {
				return err
			}
			return os.WriteFile(p, data, 0o600)
		},
	} {
		t.Run(name, func(t *testing.T) {
			opts := testOptions(t.TempDir(), testNow())
			b := mustEnsure(t, opts)
			if err := damage(b.ServerCAKey); err != nil {
				t.Fatal(err)
			}
			assertErrorNames(t, opts, "server-ca.key")
		})
	}
}

func TestEnsureRefusesCAKeyWithoutCert(t *testing.T) {
	opts := testOptions(t.TempDir(), testNow())
	b := mustEnsure(t, opts)
	if err := os.Remove(b.ClientCA); err != nil {
		t.Fatal(err)
	}
	assertErrorNames(t, opts, "client-ca.crt")
}

func TestEnsureRefusesCorruptServiceAccountKey(t *testing.T) {
	opts := testOptions(t.TempDir(), testNow())
	b := mustEnsure(t, opts)
	if err := os.WriteFile(b.ServiceAccountKey, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	assertErrorNames(t, opts, "service-account.key")
}
