package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestCABundleFromDeb(t *testing.T) {
	deb := fakeCADeb(t, minCACerts)
	bundle, err := caBundle(context.Background(), deb, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(bundle, []byte("-----BEGIN CERTIFICATE-----")); n != minCACerts {
		t.Errorf("bundle has %d certificates, want %d", n, minCACerts)
	}
	// The same package must give the same bytes: they go into image digests.
	again, err := caBundle(context.Background(), deb, t.TempDir())
	if err != nil || !bytes.Equal(again, bundle) {
		t.Errorf("second build differs (%v)", err)
	}
}

func TestCABundleRejectsAThinPackage(t *testing.T) {
	_, err := caBundle(context.Background(), fakeCADeb(t, 3), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "3 certificates") {
		t.Fatalf("err = %v, want too few certificates", err)
	}
}

// A file that lacks its last newline must not glue two PEM blocks together.
func TestCABundleSeparatesFiles(t *testing.T) {
	pem := strings.TrimSuffix(testCertPEM(), "\n")
	files := map[string]string{}
	for i := range minCACerts {
		files["usr/share/ca-certificates/mozilla/c"+strings.Repeat("x", i)+".crt"] = pem
	}
	bundle, err := caBundle(context.Background(), buildDeb(t, "ca-certificates", "1", files), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bundle, []byte("----------")) {
		t.Error("certificates run into each other")
	}
}

func TestCheckBundleCountsOnlyCertificates(t *testing.T) {
	junk := strings.Repeat("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", minCACerts)
	if err := checkBundle([]byte(junk)); err == nil {
		t.Error("unparsable certificates counted")
	}
}
