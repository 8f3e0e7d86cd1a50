package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The archives of an arch take minutes to write (zstd -19 over some
// hundred MiB of layers), and make asks for them whenever a prerequisite's
// mtime moved, which a fresh checkout or an unchanged rebuild of the
// programs does. A stamp of everything that goes into them, kept beside the cache,
// lets such a run end in a second.

// stampPath is where the inputs digest of t's last build of these images
// is kept. Each set of images has its own, so that make's two uses (pause
// and busybox alone for the test builds, everything for the embedded
// archive) do not undo each other's.
func stampPath(o options, t target, want map[string]bool) string {
	var names []string
	for _, n := range imageNames() {
		if want[n] {
			names = append(names, n)
		}
	}
	return filepath.Join(o.cache, t.Name, strings.Join(names, ",")+".inputs")
}

// outputs lists the files one build for t writes.
func outputs(o options, t target, want map[string]bool) []string {
	var out []string
	for _, n := range imageNames() {
		if want[n] {
			out = append(out, filepath.Join(o.out, t.Name, n+".tar"))
		}
	}
	if o.allDir != "" {
		out = append(out, allImagesPath(o.allDir, t))
	}
	return out
}

// inputsDigest hashes what the archives of t are made of: this program
// (pause.c and every spec are compiled in), the settings, the compiler and
// static libc that make pause, the .debs and the Go programs.
func inputsDigest(ctx context.Context, o options, t target, want map[string]bool) (string, error) {
	h := sha256.New()
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	files := []string{self}
	fmt.Fprintf(h, "%s\n%q\n%q\n%s\n%s\n", t.Name, outputs(o, t, want), zstdArgs(o.zstdLevel), o.out, o.allDir)
	// The listed references: pause is tagged from its, and a changed list
	// must be checked against the images again.
	for _, n := range imageNames() {
		if want[n] {
			fmt.Fprintf(h, "%s %s\n", n, o.refs[n])
		}
	}
	if want["pause"] {
		pf, err := pauseInputs(ctx, o, t, h)
		if err != nil {
			return "", err
		}
		files = append(files, pf...)
	}
	if want["busybox"] {
		deb, err := busyboxDebFor(ctx, o, t)
		if err != nil {
			return "", err
		}
		files = append(files, deb)
	}
	for _, p := range programs {
		if !want[p.Name] {
			continue
		}
		dir := programsDir(o, t)
		files = append(files, filepath.Join(dir, p.Name), filepath.Join(dir, p.Name+".version"))
		if lic := filepath.Join(dir, p.Name+".license"); exists(lic) {
			files = append(files, lic)
		}
		if p.CACerts {
			deb, err := caDebFor(ctx, o)
			if err != nil {
				return "", err
			}
			files = append(files, deb)
		}
	}
	for _, f := range files {
		if err := hashFile(h, f); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// pauseInputs writes the compiler's identity to h and returns the files
// pause is made of besides this program: a given binary, or the libc.a it
// links statically.
func pauseInputs(ctx context.Context, o options, t target, h io.Writer) ([]string, error) {
	if o.pauseBin != "" {
		return []string{o.pauseBin}, nil
	}
	cc := o.cc
	if cc == "" {
		cc = t.CC
	}
	version, err := exec.CommandContext(ctx, cc, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", cc, err)
	}
	h.Write(version)
	libc, err := exec.CommandContext(ctx, cc, "-print-file-name=libc.a").Output()
	if err != nil {
		return nil, fmt.Errorf("%s -print-file-name=libc.a: %w", cc, err)
	}
	return []string{string(bytes.TrimSpace(libc))}, nil
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\n", filepath.Base(path))
	_, err = io.Copy(h, f)
	return err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// upToDate reports whether every output exists and the stamp holds digest.
// It then touches the outputs, so make's mtime check agrees and stops
// asking.
func upToDate(o options, t target, want map[string]bool, digest string) (bool, error) {
	// An unreadable stamp only means building again.
	stamp, err := os.ReadFile(stampPath(o, t, want))
	if err != nil || strings.TrimSpace(string(stamp)) != digest {
		return false, nil
	}
	outs := outputs(o, t, want)
	for _, p := range outs {
		if !exists(p) {
			return false, nil
		}
	}
	now := time.Now()
	for _, p := range outs {
		if err := os.Chtimes(p, now, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

func writeStamp(o options, t target, want map[string]bool, digest string) error {
	p := stampPath(o, t, want)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(digest+"\n"), 0o644)
}
