package pki

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net"
	"time"
)

// Authority signs certificates for keys held elsewhere: an agent sends a
// CSR and its private key never leaves the node.
type Authority struct{ ca authority }

// LoadAuthority reads a CA pair written by Ensure.
func LoadAuthority(certFile, keyFile string) (*Authority, error) {
	cert, key, err := LoadCA(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &Authority{ca: authority{cert: cert, key: key}}, nil
}

// Identity is what a signed certificate says: the subject, and for serving
// certificates the names a client may reach it by. The CSR's own subject
// and extensions are ignored; the signer decides them.
type Identity struct {
	CommonName   string
	Organization string
	Serving      bool
	DNSNames     []string
	IPs          []net.IP
}

// Sign checks that the CSR is signed by its own key, proving the requester
// holds it, and returns a PEM certificate for that key.
func (a *Authority) Sign(csr *x509.CertificateRequest, id Identity, now time.Time) ([]byte, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request for %s: %w", id.CommonName, err)
	}
	spec := leafSpec{ca: &a.ca, cn: id.CommonName, org: id.Organization, usage: x509.ExtKeyUsageClientAuth}
	if id.Serving {
		spec.usage, spec.dnsNames, spec.ips = x509.ExtKeyUsageServerAuth, id.DNSNames, id.IPs
	}
	der, err := x509.CreateCertificate(rand.Reader, spec.template(now), a.ca.cert, csr.PublicKey, a.ca.key)
	if err != nil {
		return nil, fmt.Errorf("signing a certificate for %s: %w", id.CommonName, err)
	}
	return encodeCert(der), nil
}
