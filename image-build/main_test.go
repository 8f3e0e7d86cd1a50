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
	for _, f := range []string{"-arch", "-out", "-cache", "-images", "-pause-bin", "-busybox-deb", "-cc", "-download", "-smoke"} {
		if !strings.Contains(buf.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}

func TestRunRejectsPerArchFlagsForManyArches(t *testing.T) {
	o := options{arches: "amd64,arm", images: "pause", pauseBin: "x"}
	if err := run(context.Background(), o, io.Discard, io.Discard); err == nil {
		t.Error("--pause-bin with two arches accepted")
	}
	o = options{arches: "amd64", images: "pause,kube"}
	if err := run(context.Background(), o, io.Discard, io.Discard); err == nil {
		t.Error("unknown image accepted")
	}
}

// run end to end with prebuilt inputs: the three archives appear where the
// agent and make expect them.
func TestRunWritesArchives(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake busybox is run as an amd64 host program")
	}
	pause := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(pause, []byte("fake"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o := options{
		arches: "amd64", images: "busybox,pause", out: out, cache: t.TempDir(),
		pauseBin: pause, busyboxDeb: fakeDeb(t, "1.35.0-1", fakeBusybox(applets)),
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), o, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"amd64/pause.tar", "amd64/busybox.tar", "kedge-images-amd64.tar"} {
		fi, err := os.Stat(filepath.Join(out, p))
		if err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644 (the agent may not run as root)", p, fi.Mode())
		}
		if !strings.Contains(stdout.String(), p) {
			t.Errorf("report does not mention %s", p)
		}
	}
	readBack(t, filepath.Join(out, "kedge-images-amd64.tar"), mustTag(pauseRef))
	readBack(t, filepath.Join(out, "kedge-images-amd64.tar"), mustTag("kedge.local/busybox:1.35.0"))
}
