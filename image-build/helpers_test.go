package main

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testImageListPath is kedge's list of image references, which make passes
// to --image-list; the tests build what it lists.
const testImageListPath = "../manifests/images.txt"

// testImages is the list at testImageListPath.
var testImages = func() imageList {
	l, err := readImageList(testImageListPath)
	if err != nil {
		panic(err)
	}
	return l
}()

// pauseRef and pauseVersion are what the list gives pause.
var (
	pauseRef     = testImages["pause"].String()
	pauseVersion = testImages["pause"].TagStr()
)

// testPauseSpec is pauseSpec with the listed reference.
func testPauseSpec(bin []byte) spec { return pauseSpec(bin, testImages["pause"]) }

// mustTag parses a tag written in a test.
func mustTag(s string) name.Tag {
	t, err := name.NewTag(s, name.StrictValidation)
	if err != nil {
		panic(err)
	}
	return t
}

// layerFile is one tar entry of an image layer, as a runtime would see it.
type layerFile struct {
	Hdr  *tar.Header
	Data []byte
}

// readBack loads ref from a docker archive the way a consumer would, so
// tests check what was written rather than what was built in memory.
func readBack(t *testing.T, path string, ref name.Tag) v1.Image {
	t.Helper()
	img, err := tarball.ImageFromPath(path, &ref)
	if err != nil {
		t.Fatalf("read %s from %s: %v", ref, path, err)
	}
	return img
}

func mustConfig(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustID(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// layerFiles returns the entries of the image's only layer by path.
func layerFiles(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Clean(hdr.Name)] = layerFile{Hdr: hdr, Data: data}
	}
}

// fakeDeb packs a busybox-static-shaped .deb whose "busybox" is a shell
// script, so the deb path can be tested offline without Debian's package.
func fakeDeb(t *testing.T, version, busybox string) string {
	t.Helper()
	return buildDeb(t, "busybox-static", version, map[string]string{
		"bin/busybox":                            busybox,
		"usr/share/doc/busybox-static/copyright": "GPL-2\n",
	})
}

// buildDeb packs files (path: contents; executable under bin/) as a .deb.
func buildDeb(t *testing.T, pkg, version string, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	root := t.TempDir()
	write := func(p string, mode os.FileMode, data string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("DEBIAN/control", 0o644, "Package: "+pkg+"\nVersion: "+version+
		"\nArchitecture: amd64\nMaintainer: test <t@example.invalid>\nDescription: test\n")
	for p, data := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(p, "bin/") {
			mode = 0o755
		}
		write(p, mode, data)
	}
	deb := filepath.Join(t.TempDir(), pkg+".deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v\n%s", err, out)
	}
	return deb
}

// testCertPEM is one self-signed certificate, made once per test binary.
var testCertPEM = sync.OnceValue(func() string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
})

// fakeCADeb packs n copies of a certificate the way ca-certificates lays
// out its roots.
func fakeCADeb(t *testing.T, n int) string {
	t.Helper()
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("usr/share/ca-certificates/mozilla/cert-%03d.crt", i)] = testCertPEM()
	}
	return buildDeb(t, "ca-certificates", "20250419", files)
}

// fakeProgram writes what programs/build.sh leaves for name: a "binary"
// (a script printing its version) and its .version file.
func fakeProgram(t *testing.T, dir, name, version string) {
	t.Helper()
	script := "#!/bin/sh\necho \"" + name + " version " + version + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".version"), []byte(version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tarMember is one member of an archive, for tests that take one apart.
type tarMember struct {
	Hdr  *tar.Header
	Data []byte
}

func readTar(t *testing.T, path string) []tarMember {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var members []tarMember
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return members
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, tarMember{h, data})
	}
}

// writeTar writes members as they are, but for the size of their data.
func writeTar(t *testing.T, path string, members []tarMember) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := *m.Hdr
		h.Size = int64(len(m.Data))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// layoutOf reads an OCI layout tar: its index and its blobs by digest.
func layoutOf(t *testing.T, members []tarMember) (v1.IndexManifest, map[v1.Hash][]byte) {
	t.Helper()
	var index v1.IndexManifest
	blobs := map[v1.Hash][]byte{}
	for _, m := range members {
		if m.Hdr.Name == "index.json" {
			if err := json.Unmarshal(m.Data, &index); err != nil {
				t.Fatal(err)
			}
		}
		if hex, ok := strings.CutPrefix(m.Hdr.Name, "blobs/sha256/"); ok {
			blobs[v1.Hash{Algorithm: "sha256", Hex: hex}] = m.Data
		}
	}
	return index, blobs
}

// manifestOf is the image manifest d describes, from blobs.
func manifestOf(t *testing.T, blobs map[v1.Hash][]byte, d v1.Descriptor) v1.Manifest {
	t.Helper()
	var m v1.Manifest
	if err := json.Unmarshal(blobs[d.Digest], &m); err != nil {
		t.Fatalf("manifest %s: %v", d.Digest, err)
	}
	return m
}

// needZstd skips a test that writes an OCI layout (zstd layers) when the
// zstd command is missing.
func needZstd(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		t.Skip("zstd not installed")
	}
}

// fakeBusybox prints the given applet list for --list, like the real one.
func fakeBusybox(applets []string) string {
	var b bytes.Buffer
	b.WriteString("#!/bin/sh\ncat <<'EOF'\n")
	for _, a := range applets {
		b.WriteString(a + "\n")
	}
	b.WriteString("EOF\n")
	return b.String()
}
