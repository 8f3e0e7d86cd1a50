package main

import (
	"context"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1:1.35.0-4+deb12u1+b1": "1.35.0",
		"1.36.1-6":              "1.36.1",
		"1.30.1":                "1.30.1",
		"2:1.2+dfsg-1":          "1.2_dfsg",
		"1.2-3-4":               "1.2-3",
	} {
		got, err := upstreamVersion(in)
		if err != nil || got != want {
			t.Errorf("upstreamVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1:", "-1", ".5-1"} {
		if got, err := upstreamVersion(bad); err == nil {
			t.Errorf("upstreamVersion(%q) = %q, want error", bad, got)
		}
	}
}

// The applets the images promise; a name dropped from the list in
// busybox.go must fail here.
func TestAppletsCoverTheContract(t *testing.T) {
	want := strings.Fields(`sh ls cat echo sleep wget nslookup httpd nc mkdir rm touch date
		hostname ip ping head tail grep sed awk env id mount ps kill find tar top vi whoami
		du df free true false printf test tr wc sort uniq xargs ifconfig route netstat
		telnet ash dd cp mv ln chmod chown sync uname yes seq base64 md5sum sha256sum`)
	for _, a := range want {
		if !slices.Contains(applets, a) {
			t.Errorf("applet %s has no /bin link", a)
		}
	}
	sorted := slices.Clone(applets)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(applets) {
		t.Error("applets has duplicates")
	}
}

func TestBusyboxFromDeb(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake busybox is run as an amd64 host program")
	}
	deb := fakeDeb(t, "1:1.35.0-4+deb12u1+b1", fakeBusybox(applets))
	o := options{cache: t.TempDir(), busyboxDeb: deb, smoke: true}
	s, err := busyboxFor(context.Background(), o, targets["amd64"], t.TempDir(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Ref.String(); got != "kedge.local/busybox:1.35.0" {
		t.Errorf("ref = %s", got)
	}
	var copyright bool
	for _, e := range s.Entries {
		copyright = copyright || e.Path == "usr/share/doc/busybox-static/copyright"
	}
	if !copyright {
		t.Error("licence file from the .deb not in the image")
	}
}

// A busybox build lacking an applet we link must stop the build.
func TestBusyboxSmokeCatchesMissingApplet(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake busybox is run as an amd64 host program")
	}
	deb := fakeDeb(t, "1.35.0-1", fakeBusybox([]string{"sh", "ls"}))
	o := options{cache: t.TempDir(), busyboxDeb: deb, smoke: true}
	_, err := busyboxFor(context.Background(), o, targets["amd64"], t.TempDir(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "wget") {
		t.Fatalf("err = %v, want missing applets including wget", err)
	}
}

func TestDebPathIsWhereDepsShPutsIt(t *testing.T) {
	// images.mk writes CACHE/ARCH/busybox-static.deb with kedge's arch name.
	if got := debPath("c", targets["arm"]); got != filepath.Join("c", "arm", "busybox-static.deb") {
		t.Errorf("debPath = %s", got)
	}
}
