package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"k8s.io/client-go/util/keyutil"
)

// ensureServiceAccountKey never replaces an existing key: doing so would
// invalidate every service account token in the cluster. The public half is
// derived, so it is rewritten whenever it is missing or differs.
func ensureServiceAccountKey(keyFile, pubFile string) error {
	key, err := readSigner(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if key, err = writeNewKey(keyFile, "file missing"); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("%w; restore it from backup, or remove it to create a new one (all service account tokens then become invalid)", err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("encoding %s: %w", pubFile, err)
	}
	want := pem.EncodeToMemory(&pem.Block{Type: keyutil.PublicKeyBlockType, Bytes: der})
	have, err := os.ReadFile(pubFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return writeLogged(pubFile, want, "generating", "file missing")
	case err != nil:
		return fmt.Errorf("reading %s: %w", pubFile, err)
	case !bytes.Equal(have, want):
		return writeLogged(pubFile, want, "regenerating", "does not match service-account.key")
	}
	return nil
}
