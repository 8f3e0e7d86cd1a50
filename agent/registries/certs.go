package registries

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// checkCA wants what containerd adds to its pool: at least one PEM
// CERTIFICATE block that parses.
func checkCA(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----) that parses", path)
	}
	return nil
}

// checkKeyPair wants a client certificate and its private key.
func checkKeyPair(cert, key string) error {
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		return fmt.Errorf("%s and %s do not load as a certificate and its key: %w", cert, key, err)
	}
	return nil
}
