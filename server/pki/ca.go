package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	clockSkew    = time.Minute
	recoveryHint = "restore it from backup, or remove the whole tls dir to create a new cluster PKI (every node and kubeconfig must then be set up again)"
)

type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// LoadCA reads a CA certificate and its private key and checks that they
// belong together.
func LoadCA(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := readCert(certFile)
	if err != nil {
		return nil, nil, err
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("%s: certificate is not a CA", certFile)
	}
	key, err := readSigner(keyFile)
	if err != nil {
		return nil, nil, err
	}
	if !matchesKey(cert, key) {
		return nil, nil, fmt.Errorf("%s: key does not belong to %s", keyFile, certFile)
	}
	return cert, key, nil
}

// ensureCA refuses to replace anything that already exists: a new CA would
// silently invalidate every certificate and kubeconfig handed out so far.
func ensureCA(certFile, keyFile, name string, now time.Time) (*authority, error) {
	certExists, err := exists(certFile)
	if err != nil {
		return nil, err
	}
	keyExists, err := exists(keyFile)
	if err != nil {
		return nil, err
	}
	switch {
	case certExists && !keyExists:
		return nil, fmt.Errorf("%s exists but %s is missing; %s", certFile, keyFile, recoveryHint)
	case certExists:
		cert, key, err := LoadCA(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w; %s", err, recoveryHint)
		}
		return &authority{cert: cert, key: key}, nil
	case keyExists:
		return nil, fmt.Errorf("%s exists but %s is missing; %s", keyFile, certFile, recoveryHint)
	}
	return createCA(certFile, keyFile, fmt.Sprintf("%s@%d", name, now.Unix()), now)
}

// createCA writes the key before the certificate so that a certificate on
// disk always has its key beside it; ensureCA relies on that.
func createCA(certFile, keyFile, cn string, now time.Time) (*authority, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", certFile, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", certFile, err)
	}
	keyPEM, err := encodeKey(key, keyFile)
	if err != nil {
		return nil, err
	}
	if err := writeLogged(keyFile, keyPEM, "generating", "no CA yet"); err != nil {
		return nil, err
	}
	if err := writeLogged(certFile, encodeCert(der), "generating", "new CA "+cn); err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", path, err)
	}
	return true, nil
}
