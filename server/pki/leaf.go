package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	leafValidity = 365 * 24 * time.Hour
	renewBefore  = 90 * 24 * time.Hour
)

type leafSpec struct {
	cert, key string
	ca        *authority
	cn, org   string
	usage     x509.ExtKeyUsage
	dnsNames  []string
	ips       []net.IP
}

func client(cert, key string, ca *authority, cn, org string) leafSpec {
	return leafSpec{cert: cert, key: key, ca: ca, cn: cn, org: org, usage: x509.ExtKeyUsageClientAuth}
}

func ensureLeaf(s leafSpec, now time.Time) error {
	key, err := ensureLeafKey(s.key)
	if err != nil {
		return err
	}
	verb, why, err := reissueReason(s, key, now)
	if err != nil || verb == "" {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, s.template(now), s.ca.cert, key.Public(), s.ca.key)
	if err != nil {
		return fmt.Errorf("signing %s: %w", s.cert, err)
	}
	return writeLogged(s.cert, encodeCert(der), verb, why)
}

// ensureLeafKey keeps a usable existing key when the certificate is reissued,
// so anything that pins the key keeps working across renewals; only a
// missing or unusable key is replaced.
func ensureLeafKey(path string) (*ecdsa.PrivateKey, error) {
	signer, err := readSigner(path)
	if errors.Is(err, fs.ErrNotExist) {
		return writeNewKey(path, "file missing")
	}
	if errors.Is(err, errNotPEMKey) {
		return writeNewKey(path, "existing file is not a usable PEM private key")
	}
	if err != nil {
		return nil, err
	}
	if key, ok := signer.(*ecdsa.PrivateKey); ok && key.Curve == elliptic.P256() {
		return key, nil
	}
	return writeNewKey(path, fmt.Sprintf("existing %T is not an ECDSA P-256 key", signer))
}

func writeNewKey(path, why string) (*ecdsa.PrivateKey, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	data, err := encodeKey(key, path)
	if err != nil {
		return nil, err
	}
	return key, writeLogged(path, data, "generating", why)
}

// reissueReason returns an empty verb when the certificate on disk can stay.
// A file that exists but cannot be read (e.g. permissions) is an error, not a
// reason to overwrite it.
func reissueReason(s leafSpec, key crypto.Signer, now time.Time) (verb, why string, err error) {
	cert, err := readCert(s.cert)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "generating", "file missing", nil
	case errors.Is(err, errNotPEMCert):
		return "reissuing", "existing file is not a PEM certificate", nil
	case err != nil:
		return "", "", err
	case cert.CheckSignatureFrom(s.ca.cert) != nil:
		return "reissuing", "not signed by the current CA " + s.ca.cert.Subject.CommonName, nil
	case !matchesKey(cert, key):
		return "reissuing", "does not match " + filepath.Base(s.key), nil
	case cert.Subject.CommonName != s.cn || !slices.Equal(cert.Subject.Organization, s.organizations()):
		return "reissuing", "subject changed to " + s.subject().String(), nil
	case now.Add(renewBefore).After(cert.NotAfter):
		return "renewing", fmt.Sprintf("expires %s (within 90 days)", cert.NotAfter.Format(time.DateOnly)), nil
	}
	if missing := missingSANs(cert, s.dnsNames, s.ips); len(missing) > 0 {
		return "reissuing", "missing SANs " + strings.Join(missing, ", "), nil
	}
	return "", "", nil
}

func (s leafSpec) organizations() []string {
	if s.org == "" {
		return nil
	}
	return []string{s.org}
}

func (s leafSpec) subject() pkix.Name {
	return pkix.Name{CommonName: s.cn, Organization: s.organizations()}
}

func (s leafSpec) template(now time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               s.subject(),
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(leafValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{s.usage},
		BasicConstraintsValid: true,
		DNSNames:              s.dnsNames,
		IPAddresses:           s.ips,
	}
}
