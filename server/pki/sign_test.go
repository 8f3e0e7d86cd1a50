package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"
	"time"

	certutil "k8s.io/client-go/util/cert"
)

func TestAuthoritySignsForTheRequestersKey(t *testing.T) {
	b := mustEnsure(t, testOptions(t.TempDir(), testNow()))
	a, err := LoadAuthority(b.ClientCA, b.ClientCAKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := newCSR(t, key, "ignored-by-the-signer")
	pem, err := a.Sign(csr, Identity{CommonName: "system:node:n1", Organization: "system:nodes"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certs, err := certutil.ParseCertsPEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	c := certs[0]
	if c.Subject.CommonName != "system:node:n1" || c.Subject.Organization[0] != "system:nodes" {
		t.Errorf("subject %v", c.Subject)
	}
	if !key.PublicKey.Equal(c.PublicKey) {
		t.Error("certificate is not for the CSR's key")
	}
	if c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("usage %v", c.ExtKeyUsage)
	}
	ca, _, _ := LoadCA(b.ClientCA, b.ClientCAKey)
	if err := c.CheckSignatureFrom(ca); err != nil {
		t.Errorf("not signed by the client CA: %v", err)
	}
}

func TestAuthoritySignsServingWithSANs(t *testing.T) {
	b := mustEnsure(t, testOptions(t.TempDir(), testNow()))
	a, err := LoadAuthority(b.ServerCA, b.ServerCAKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := Identity{CommonName: "n1", Serving: true, DNSNames: []string{"n1"}, IPs: []net.IP{net.ParseIP("10.0.0.7")}}
	pem, err := a.Sign(newCSR(t, key, "n1"), id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := certutil.ParseCertsPEM(pem)
	if err := c[0].VerifyHostname("10.0.0.7"); err != nil {
		t.Error(err)
	}
	if c[0].ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("usage %v", c[0].ExtKeyUsage)
	}
}

func TestAuthorityRejectsForgedCSR(t *testing.T) {
	b := mustEnsure(t, testOptions(t.TempDir(), testNow()))
	a, _ := LoadAuthority(b.ClientCA, b.ClientCAKey)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := newCSR(t, key, "x")
	csr.PublicKey = &other.PublicKey // claims a key it did not sign with
	if _, err := a.Sign(csr, Identity{CommonName: "x"}, time.Now()); err == nil {
		t.Fatal("signed a CSR whose signature does not match its key")
	}
}

func newCSR(t *testing.T, key *ecdsa.PrivateKey, cn string) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}
