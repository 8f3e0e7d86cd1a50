package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPauseImageConfigPerArch(t *testing.T) {
	bin := []byte("\x7fELF fake pause")
	for _, tc := range []struct{ arch, wantArch, wantVariant string }{
		{"amd64", "amd64", ""},
		{"arm64", "arm64", ""},
		{"arm", "arm", "v7"},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			s := testPauseSpec(bin)
			img, err := buildImage(s, targets[tc.arch])
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "pause.tar")
			if err := writeArchive(path, []tagged{{s.Ref, img}}); err != nil {
				t.Fatal(err)
			}
			cf := mustConfig(t, readBack(t, path, s.Ref))
			if cf.Architecture != tc.wantArch || cf.OS != "linux" || cf.Variant != tc.wantVariant {
				t.Errorf("platform = %s/%s/%s, want linux/%s/%s", cf.OS, cf.Architecture, cf.Variant, tc.wantArch, tc.wantVariant)
			}
			if !slices.Equal(cf.Config.Entrypoint, []string{"/pause"}) || len(cf.Config.Cmd) != 0 {
				t.Errorf("entrypoint %q cmd %q, want [/pause] and no cmd", cf.Config.Entrypoint, cf.Config.Cmd)
			}
			if cf.Config.User != "65535:65535" {
				t.Errorf("user = %q, want 65535:65535", cf.Config.User)
			}
			if !cf.Created.Time.Equal(epoch) {
				t.Errorf("created = %v, want Unix 0", cf.Created.Time)
			}
		})
	}
}

func TestPauseLayerIsOnlyTheBinary(t *testing.T) {
	bin := []byte("\x7fELF fake pause")
	img, err := buildImage(testPauseSpec(bin), targets["amd64"])
	if err != nil {
		t.Fatal(err)
	}
	files := layerFiles(t, img)
	if len(files) != 1 {
		t.Fatalf("layer has %d entries, want only pause", len(files))
	}
	f, ok := files["pause"]
	if !ok || f.Hdr.Typeflag != tar.TypeReg || f.Hdr.Mode != 0o755 || !bytes.Equal(f.Data, bin) {
		t.Fatalf("pause entry = %+v", f.Hdr)
	}
}

func TestBusyboxLayout(t *testing.T) {
	bin := []byte("fake busybox")
	s, err := busyboxSpec(bin, []byte("GPL-2"), "1.35.0")
	if err != nil {
		t.Fatal(err)
	}
	img, err := buildImage(s, targets["arm"])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "busybox.tar")
	if err := writeArchive(path, []tagged{{s.Ref, img}}); err != nil {
		t.Fatal(err)
	}
	img = readBack(t, path, s.Ref)
	files := layerFiles(t, img)

	wantDirs := map[string]int64{"bin": 0o755, "etc": 0o755, "root": 0o700, "tmp": 0o1777, "usr/bin": 0o755}
	for p, mode := range wantDirs {
		if f := files[p]; f.Hdr == nil || f.Hdr.Typeflag != tar.TypeDir || f.Hdr.Mode != mode {
			t.Errorf("%s: want dir mode %o, got %+v", p, mode, f.Hdr)
		}
	}
	if f := files["bin/busybox"]; f.Hdr == nil || f.Hdr.Mode != 0o755 || !bytes.Equal(f.Data, bin) {
		t.Errorf("bin/busybox missing or wrong: %+v", f.Hdr)
	}
	for _, a := range applets {
		if f := files["bin/"+a]; f.Hdr == nil || f.Hdr.Typeflag != tar.TypeSymlink || f.Hdr.Linkname != "busybox" {
			t.Errorf("bin/%s: want symlink to busybox, got %+v", a, f.Hdr)
		}
	}
	if f := files["etc/passwd"]; !bytes.HasPrefix(f.Data, []byte("root:x:0:0:")) || f.Hdr.Mode != 0o644 {
		t.Errorf("etc/passwd = %q", f.Data)
	}
	if f := files["etc/group"]; !bytes.HasPrefix(f.Data, []byte("root:x:0:")) {
		t.Errorf("etc/group = %q", f.Data)
	}
	cf := mustConfig(t, img)
	if !slices.Equal(cf.Config.Cmd, []string{"sh"}) || len(cf.Config.Entrypoint) != 0 {
		t.Errorf("cmd %q entrypoint %q, want [sh] and none", cf.Config.Cmd, cf.Config.Entrypoint)
	}
	if !slices.Equal(cf.Config.Env, []string{"PATH=/bin:/usr/bin"}) {
		t.Errorf("env = %q", cf.Config.Env)
	}
	if cf.Variant != "v7" {
		t.Errorf("variant = %q, want v7", cf.Variant)
	}
}

// Every entry must carry the fixed owner and time, or digests would depend
// on who built the image and when.
func TestLayerEntriesAreNormalised(t *testing.T) {
	s, err := busyboxSpec([]byte("x"), nil, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	img, err := buildImage(s, targets["amd64"])
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range layerFiles(t, img) {
		h := f.Hdr
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: uid %d gid %d %q/%q mtime %v", p, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
	}
}

func TestBuildsAreReproducible(t *testing.T) {
	build := func(bin string) ([]byte, string) {
		s := testPauseSpec([]byte(bin))
		b, err := busyboxSpec([]byte(bin), []byte("GPL-2"), "1.35.0")
		if err != nil {
			t.Fatal(err)
		}
		var all []tagged
		for _, sp := range []spec{s, b} {
			img, err := buildImage(sp, targets["arm64"])
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, tagged{sp.Ref, img})
		}
		path := filepath.Join(t.TempDir(), "all.tar")
		if err := writeArchive(path, all); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data, mustDigest(t, all[0].Img).String() + mustDigest(t, all[1].Img).String()
	}
	a1, d1 := build("same input")
	a2, d2 := build("same input")
	if d1 != d2 {
		t.Errorf("digests differ between identical builds: %s vs %s", d1, d2)
	}
	if !bytes.Equal(a1, a2) {
		t.Error("archives differ between identical builds")
	}
	// And the digest must follow the content, or the check above is empty.
	if _, d3 := build("other input"); d3 == d1 {
		t.Error("different binaries gave the same digests")
	}
}

func TestLayerTarRejectsBadEntries(t *testing.T) {
	for name, entries := range map[string][]entry{
		"duplicate": {file("a", 0o644, nil), file("a", 0o644, nil)},
		"absolute":  {file("/a", 0o644, nil)},
		"unclean":   {file("a/../b", 0o644, nil)},
		"empty":     {file("", 0o644, nil)},
	} {
		if _, err := layerTar(entries); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
