package join

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"k8s.io/client-go/util/keyutil"

	"github.com/kedge-io/kedge/atomicfile"
	"github.com/kedge-io/kedge/joinapi"
)

// certificateRequest builds a CSR per kind from keys kept on this node;
// an existing key is reused so a re-join does not change them.
func (o Options) certificateRequest() (joinapi.CertificateRequest, error) {
	password, err := o.nodePassword()
	if err != nil {
		return joinapi.CertificateRequest{}, err
	}
	req := joinapi.CertificateRequest{NodeName: o.NodeName, NodePassword: password, CSRs: map[string]string{}}
	for _, ip := range o.NodeIPs {
		req.NodeIPs = append(req.NodeIPs, ip.String())
	}
	for _, kind := range kinds {
		key, err := ensureKey(o.Files.Key(kind))
		if err != nil {
			return req, err
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		if err != nil {
			return req, fmt.Errorf("creating the %s certificate request: %w", kind, err)
		}
		req.CSRs[kind] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	}
	return req, nil
}

func ensureKey(path string) (*ecdsa.PrivateKey, error) {
	if data, err := os.ReadFile(path); err == nil {
		key, err := keyutil.ParsePrivateKeyPEM(data)
		if ec, ok := key.(*ecdsa.PrivateKey); err == nil && ok {
			return ec, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return key, writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// nodePassword is generated on the first join and kept; losing it means
// the node name can only be reused after `kubectl delete node`.
func (o Options) nodePassword() (string, error) {
	data, err := readFileIfExists(o.Files.NodePassword())
	if err != nil {
		return "", err
	}
	if p := strings.TrimSpace(string(data)); p != "" {
		return p, nil
	}
	b := make([]byte, 32)
	rand.Read(b) // cannot fail since Go 1.24
	p := hex.EncodeToString(b)
	return p, writeFile(o.Files.NodePassword(), []byte(p+"\n"))
}

func writeFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// readFileIfExists returns nil data for a missing file.
func readFileIfExists(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}
