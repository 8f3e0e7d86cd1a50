package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func programNamed(t *testing.T, name string) program {
	t.Helper()
	for _, p := range programs {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no program %s", name)
	return program{}
}

// Built at the listed version, each program's image has the exact tag the
// manifests refer to; and what each holds besides its binary.
func TestProgramImages(t *testing.T) {
	certs := []byte(testCertPEM())
	for _, tc := range []struct {
		name string
		want []string // layer paths besides the binary and its licence dirs
	}{
		{"coredns", []string{"etc", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt"}},
		{"traefik", []string{"etc", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt"}},
		{"local-path-provisioner", nil},
		{"metrics-server", []string{"tmp"}},
	} {
		listed := testImages[tc.name]
		for _, arch := range []string{"amd64", "arm64", "arm"} {
			t.Run(tc.name+"/"+arch, func(t *testing.T) {
				p := programNamed(t, tc.name)
				bin := []byte("\x7fELF " + tc.name)
				s, err := programSpec(p, programInputs{Bin: bin, Version: listed.TagStr(), License: []byte("Apache-2.0"), CACerts: certs})
				if err != nil {
					t.Fatal(err)
				}
				if err := testImages.check(testImageListPath, tc.name, s.Ref); err != nil {
					t.Error(err)
				}
				img := writeAndReadBack(t, s, targets[arch])
				cf := mustConfig(t, img)
				tg := targets[arch]
				if cf.OS != "linux" || cf.Architecture != tg.Arch || cf.Variant != tg.Variant {
					t.Errorf("platform = %s/%s/%s", cf.OS, cf.Architecture, cf.Variant)
				}
				if !slices.Equal(cf.Config.Entrypoint, []string{"/" + tc.name}) || len(cf.Config.Cmd) != 0 {
					t.Errorf("entrypoint %q cmd %q", cf.Config.Entrypoint, cf.Config.Cmd)
				}
				if cf.Config.User != "65532:65532" {
					t.Errorf("user = %q", cf.Config.User)
				}
				files := layerFiles(t, img)
				if f := files[tc.name]; f.Hdr == nil || f.Hdr.Typeflag != tar.TypeReg || f.Hdr.Mode != 0o755 || !bytes.Equal(f.Data, bin) {
					t.Errorf("/%s missing or wrong", tc.name)
				}
				doc := "usr/share/doc/" + tc.name
				want := append([]string{tc.name, "usr", "usr/share", "usr/share/doc", doc, doc + "/LICENSE"}, tc.want...)
				var got []string
				for path := range files {
					got = append(got, path)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("layer = %q, want %q", got, want)
				}
				if f, ok := files["etc/ssl/certs/ca-certificates.crt"]; ok && (!bytes.Equal(f.Data, certs) || f.Hdr.Mode != 0o644) {
					t.Error("CA bundle differs from its input")
				}
				if f, ok := files["tmp"]; ok && (f.Hdr.Typeflag != tar.TypeDir || f.Hdr.Mode != 0o1777) {
					t.Errorf("tmp: %+v, want a sticky world-writable dir", f.Hdr)
				}
			})
		}
	}
}

// No binary carries a file capability: with one that the pod's bounding
// set lacks, execve fails, and the manifests drop every capability.
func TestNoFileCapabilities(t *testing.T) {
	for _, p := range programs {
		s, err := programSpec(p, programInputs{Bin: []byte("x"), Version: "1.0", CACerts: []byte(testCertPEM())})
		if err != nil {
			t.Fatal(err)
		}
		for path, f := range layerFiles(t, writeAndReadBack(t, s, targets["amd64"])) {
			for k := range f.Hdr.PAXRecords {
				if strings.HasPrefix(k, "SCHILY.xattr.") {
					t.Errorf("%s: /%s has %s", p.Name, path, k)
				}
			}
		}
	}
}

func TestProgramSpecRejectsBadInputs(t *testing.T) {
	coredns := programNamed(t, "coredns")
	lpp := programNamed(t, "local-path-provisioner")
	for name, tc := range map[string]struct {
		p  program
		in programInputs
	}{
		"empty binary": {lpp, programInputs{Version: "0.0.30"}},
		"bad version":  {lpp, programInputs{Bin: []byte("x"), Version: "v0.0.30 dirty"}},
		"no version":   {lpp, programInputs{Bin: []byte("x")}},
		"no CA bundle": {coredns, programInputs{Bin: []byte("x"), Version: "1.15.0"}},
	} {
		if _, err := programSpec(tc.p, tc.in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadProgram(t *testing.T) {
	dir := t.TempDir()
	fakeProgram(t, dir, "traefik", "3.6.12")
	p := programNamed(t, "traefik")
	in, err := readProgram(dir, p)
	if err != nil || in.Version != "3.6.12" || len(in.Bin) == 0 || in.License != nil {
		t.Fatalf("readProgram = %+v, %v", in, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "traefik.license"), []byte("MIT"), 0o644); err != nil {
		t.Fatal(err)
	}
	if in, err = readProgram(dir, p); err != nil || string(in.License) != "MIT" {
		t.Fatalf("with licence: %q, %v", in.License, err)
	}
	os.Remove(filepath.Join(dir, "traefik.version"))
	if _, err := readProgram(dir, p); err == nil {
		t.Error("missing .version accepted")
	}
	if _, err := readProgram(t.TempDir(), p); err == nil || !strings.Contains(err.Error(), "build.sh") {
		t.Errorf("missing binary: %v, want a hint at build.sh", err)
	}
}

func TestSmokeProgram(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake program is run as an amd64 host program")
	}
	dir := t.TempDir()
	fakeProgram(t, dir, "coredns", "1.15.0")
	p := programNamed(t, "coredns")
	bin := filepath.Join(dir, "coredns")
	if err := smokeProgram(context.Background(), targets["amd64"], p, bin, "1.15.0", io.Discard); err != nil {
		t.Error(err)
	}
	if err := smokeProgram(context.Background(), targets["amd64"], p, bin, "1.16.0", io.Discard); err == nil {
		t.Error("wrong version passed the smoke test")
	}
}

// programs/build.sh and this table must name the same programs, each with
// its tools module.
func TestProgramsMatchBuildScript(t *testing.T) {
	script, err := os.ReadFile("programs/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range programs {
		if _, err := os.Stat(filepath.Join("programs", p.Name, "go.mod")); err != nil {
			t.Errorf("%s: no tools module: %v", p.Name, err)
		}
		if !bytes.Contains(script, []byte("\n\t"+p.Name+") echo ")) {
			t.Errorf("%s: build.sh does not build it", p.Name)
		}
	}
	mods, _ := filepath.Glob("programs/*/go.mod")
	if len(mods) != len(programs) {
		t.Errorf("%d tools modules, %d programs", len(mods), len(programs))
	}
}

// writeAndReadBack builds s for tg and reads it back out of an archive.
func writeAndReadBack(t *testing.T, s spec, tg target) v1.Image {
	t.Helper()
	img, err := buildImage(s, tg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := writeArchive(path, []tagged{{s.Ref, img}}); err != nil {
		t.Fatal(err)
	}
	return readBack(t, path, s.Ref)
}
