package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	ts, err := parseTargets("all")
	if err != nil || len(ts) != 3 {
		t.Fatalf("all = %v, %v", ts, err)
	}
	ts, err = parseTargets("arm, arm")
	if err != nil || len(ts) != 1 || ts[0].Variant != "v7" || ts[0].DebArch != "armhf" {
		t.Errorf("arm = %+v, %v", ts, err)
	}
	if _, err := parseTargets("armv7"); err == nil {
		t.Error("unknown arch accepted")
	}
}

func TestHelpListsFlags(t *testing.T) {
	var buf bytes.Buffer
	_, err := parseFlags([]string{"-h"}, &buf)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, f := range []string{"-arch", "-out", "-all-dir", "-cache", "-images", "-image-list", "-pause-bin", "-busybox-deb", "-cc",
		"-programs", "-ca-deb", "-download", "-smoke"} {
		if !strings.Contains(buf.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}

func TestRunRejectsPerArchFlagsForManyArches(t *testing.T) {
	o := options{arches: "amd64,arm", images: "pause", pauseBin: "x", zstdLevel: 3}
	if err := run(context.Background(), o, io.Discard, io.Discard); err == nil {
		t.Error("--pause-bin with two arches accepted")
	}
	o = options{arches: "amd64,arm", images: "coredns", programs: "x", zstdLevel: 3}
	if err := run(context.Background(), o, io.Discard, io.Discard); err == nil {
		t.Error("--programs with two arches accepted")
	}
	o = options{arches: "amd64", images: "pause,kube", zstdLevel: 3}
	if err := run(context.Background(), o, io.Discard, io.Discard); err == nil {
		t.Error("unknown image accepted")
	}
	o = options{arches: "amd64", images: "pause", zstdLevel: 22}
	if err := run(context.Background(), o, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "zstd-level") {
		t.Errorf("zstd level 22: %v", err)
	}
}

// run end to end with prebuilt inputs: the archives appear where the
// agent and make expect them.
func TestRunWritesArchives(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake busybox is run as an amd64 host program")
	}
	needZstd(t)
	pause := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(pause, []byte("#!/bin/sh\necho 'pause "+pauseVersion+" (kedge)'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	progs := t.TempDir()
	fakeProgram(t, progs, "coredns", "1.15.0")
	out, all := t.TempDir(), t.TempDir()
	o := options{
		arches: "amd64", images: "coredns,busybox,pause", out: out, allDir: all, cache: t.TempDir(),
		pauseBin: pause, busyboxDeb: fakeDeb(t, "1.35.0-1", fakeBusybox(applets)),
		programs: progs, caDeb: fakeCADeb(t, minCACerts), smoke: true, zstdLevel: 3, imageList: testImageListPath,
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), o, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	combined := filepath.Join(all, "kedge-images-amd64.tar")
	for _, p := range []string{filepath.Join(out, "amd64/pause.tar"), filepath.Join(out, "amd64/busybox.tar"),
		filepath.Join(out, "amd64/coredns.tar"), combined} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644 (the agent may not run as root)", p, fi.Mode())
		}
		if !strings.Contains(stdout.String(), p) {
			t.Errorf("report does not mention %s", p)
		}
	}
	index, _ := layoutOf(t, readTar(t, combined))
	var refs []string
	for _, d := range index.Manifests {
		refs = append(refs, d.Annotations[refNameAnnotation])
	}
	if want := []string{pauseRef, "kedge.local/busybox:1.35.0", "kedge.local/coredns:1.15.0"}; !slices.Equal(refs, want) {
		t.Errorf("combined archive holds %q, want %q", refs, want)
	}
}

func TestRunFailsOnAProgramThatLies(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake program is run as an amd64 host program")
	}
	progs := t.TempDir()
	fakeProgram(t, progs, "metrics-server", "0.8.0")
	// The binary says 0.8.0; the version file says otherwise.
	if err := os.WriteFile(filepath.Join(progs, "metrics-server.version"), []byte("0.9.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := options{arches: "amd64", images: "metrics-server", out: t.TempDir(), allDir: t.TempDir(),
		cache: t.TempDir(), programs: progs, smoke: true, zstdLevel: 3, imageList: testImageListPath}
	err := run(context.Background(), o, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "want version 0.9.0") {
		t.Fatalf("err = %v, want the smoke test to catch the version", err)
	}
}

// A second run with the same inputs writes nothing; any changed input or a
// missing output builds again.
func TestRunSkipsUnchangedInputs(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake program is run as an amd64 host program")
	}
	needZstd(t)
	progs := t.TempDir()
	fakeProgram(t, progs, "local-path-provisioner", "0.0.30")
	o := options{arches: "amd64", images: "local-path-provisioner", out: t.TempDir(), allDir: t.TempDir(),
		cache: t.TempDir(), programs: progs, smoke: true, zstdLevel: 3, imageList: testImageListPath}
	runOnce := func() string {
		t.Helper()
		var stdout bytes.Buffer
		if err := run(context.Background(), o, &stdout, io.Discard); err != nil {
			t.Fatal(err)
		}
		return stdout.String()
	}
	if out := runOnce(); !strings.Contains(out, "built in") {
		t.Fatalf("first run: %s", out)
	}
	if out := runOnce(); !strings.Contains(out, "up to date") {
		t.Errorf("unchanged inputs rebuilt: %s", out)
	}
	if err := os.WriteFile(filepath.Join(progs, "local-path-provisioner.license"), []byte("Apache-2.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := runOnce(); !strings.Contains(out, "built in") {
		t.Errorf("a new licence file did not rebuild: %s", out)
	}
	o.zstdLevel = 4
	if out := runOnce(); !strings.Contains(out, "built in") {
		t.Errorf("another zstd level did not rebuild: %s", out)
	}
	if err := os.Remove(filepath.Join(o.allDir, "kedge-images-amd64.tar")); err != nil {
		t.Fatal(err)
	}
	if out := runOnce(); !strings.Contains(out, "built in") {
		t.Errorf("a missing archive was not rebuilt: %s", out)
	}
}

// make's pause-and-busybox run writes no archive of all images: that one
// is the full run's.
func TestRunWithoutTheCombinedArchive(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake program is run as an amd64 host program")
	}
	progs := t.TempDir()
	fakeProgram(t, progs, "local-path-provisioner", "0.0.30")
	out := t.TempDir()
	o := options{arches: "amd64", images: "local-path-provisioner", out: out, cache: t.TempDir(),
		programs: progs, smoke: true, zstdLevel: 3, imageList: testImageListPath}
	if err := run(context.Background(), o, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, out+"/"))
		}
		return err
	})
	if strings.Join(files, " ") != "amd64/local-path-provisioner.tar" {
		t.Errorf("wrote %q, want only the image's own archive", files)
	}
}
