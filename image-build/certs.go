package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// caDebPath is where the ca-certificates .deb is cached. The package is
// Architecture: all, so one file serves every target.
func caDebPath(cache string) string { return filepath.Join(cache, "ca-certificates.deb") }

// caDebFor finds the ca-certificates .deb: --ca-deb, else the cache,
// downloading it there when allowed.
func caDebFor(ctx context.Context, o options) (string, error) {
	if o.caDeb != "" {
		return o.caDeb, nil
	}
	deb := caDebPath(o.cache)
	if o.download {
		if err := fetchDeb(ctx, "ca-certificates", deb); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(deb); err != nil {
		return "", fmt.Errorf("%w (make images-ARCH fetches it with scripts/deps.sh)", err)
	}
	return deb, nil
}

// caBundle builds /etc/ssl/certs/ca-certificates.crt from Debian's
// ca-certificates package the way its update-ca-certificates does on a
// default install: every certificate it ships, in path order, one after
// the other.
func caBundle(ctx context.Context, deb, work string) ([]byte, error) {
	root := filepath.Join(work, "ca-certificates")
	if _, err := extractDeb(ctx, deb, root); err != nil {
		return nil, err
	}
	crts, err := filepath.Glob(filepath.Join(root, "usr/share/ca-certificates/*/*.crt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(crts)
	var bundle bytes.Buffer
	for _, c := range crts {
		pem, err := os.ReadFile(c)
		if err != nil {
			return nil, err
		}
		bundle.Write(pem)
		if !bytes.HasSuffix(pem, []byte("\n")) {
			bundle.WriteByte('\n')
		}
	}
	if err := checkBundle(bundle.Bytes()); err != nil {
		return nil, fmt.Errorf("%s: %w", deb, err)
	}
	return bundle.Bytes(), nil
}

// minCACerts is far below the ~140 roots Debian ships and far above what a
// broken or emptied package would give.
const minCACerts = 50

// checkBundle makes sure the bundle holds certificates Go's TLS stack can
// parse, which is how the programs read it.
func checkBundle(bundle []byte) error {
	n := 0
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); b.Type == "CERTIFICATE" && err == nil {
			n++
		}
	}
	if n < minCACerts {
		return fmt.Errorf("CA bundle has %d certificates, want at least %d", n, minCACerts)
	}
	return nil
}
