package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/kedge-io/kedge/atomicfile"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/klog/v2"
)

// writeFileAtomic never leaves a truncated key or certificate behind, which
// matters on devices that lose power mid-write.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeLogged writes a file and records why, so an operator reading the log
// can tell a first start from a renewal.
func writeLogged(path string, data []byte, verb, why string) error {
	klog.InfofDepth(1, "%s %s: %s", verb, filepath.Base(path), why)
	return writeFileAtomic(path, data)
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating ECDSA P-256 key: %w", err)
	}
	return key, nil
}

func encodeKey(key crypto.PrivateKey, path string) ([]byte, error) {
	data, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", path, err)
	}
	return data, nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: der})
}

// These mark damaged content, as opposed to a file that could not be read.
var (
	errNotPEMKey  = errors.New("not a usable PEM private key")
	errNotPEMCert = errors.New("not a PEM certificate")
)

// readSigner and readCert return os errors as they are, since those already
// name the path and callers test them for fs.ErrNotExist.
func readSigner(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := keyutil.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, errNotPEMKey, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %w: %T cannot sign", path, errNotPEMKey, key)
	}
	return signer, nil
}

// readCert returns only the first certificate because every file written here
// holds exactly one.
func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := certutil.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, errNotPEMCert, err)
	}
	return certs[0], nil
}

func matchesKey(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// randomSerial draws 128 bits, enough that two certificates from the same CA
// never collide even though no serial counter is kept.
func randomSerial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b) // cannot fail since Go 1.24; it aborts the process instead
	return new(big.Int).SetBytes(b)
}
