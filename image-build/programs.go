package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// program is a packaged component's Go binary, compiled by
// programs/build.sh from programs/<Name>/go.mod, and the image it runs in.
type program struct {
	Name        string   // binary, image and tools-module name
	VersionArgs []string // print the version, for the smoke test
	CACerts     bool     // may talk TLS to servers outside the cluster
	Tmp         bool     // writes files under /tmp
}

var programs = []program{
	// No file capability for port 53, unlike upstream's image: a
	// capability the pod drops makes execve fail, and kedge's manifest
	// drops them all and lowers ip_unprivileged_port_start instead.
	{Name: "coredns", VersionArgs: []string{"-version"}, CACerts: true},
	{Name: "traefik", VersionArgs: []string{"version"}, CACerts: true},
	{Name: "local-path-provisioner", VersionArgs: []string{"--version"}},
	// metrics-server writes its serving certificate (--cert-dir=/tmp).
	{Name: "metrics-server", VersionArgs: []string{"--version"}, Tmp: true},
}

// programUser is the conventional "nonroot" ID of distroless images; no
// program here needs root.
const programUser = "65532:65532"

// programInputs are the files build.sh leaves for one program.
type programInputs struct {
	Bin     []byte // the static binary
	Version string // upstream version, without the leading v
	License []byte // the module's licence text; optional
	CACerts []byte // PEM bundle, for programs that want one
}

// programSpec is scratch plus the binary at /<name>, and only what p needs
// besides: the CA bundle, a writable /tmp, its licence.
func programSpec(p program, in programInputs) (spec, error) {
	if len(in.Bin) == 0 {
		return spec{}, fmt.Errorf("%s: binary is empty", p.Name)
	}
	ref, err := name.NewTag("kedge.local/"+p.Name+":"+in.Version, name.StrictValidation)
	if err != nil {
		return spec{}, fmt.Errorf("%s: tag from version %q: %w", p.Name, in.Version, err)
	}
	entries := []entry{file(p.Name, 0o755, in.Bin)}
	if p.CACerts {
		if len(in.CACerts) == 0 {
			return spec{}, fmt.Errorf("%s: needs a CA bundle and has none", p.Name)
		}
		entries = append(entries, dir("etc", 0o755), dir("etc/ssl", 0o755), dir("etc/ssl/certs", 0o755),
			file("etc/ssl/certs/ca-certificates.crt", 0o644, in.CACerts))
	}
	if p.Tmp {
		entries = append(entries, dir("tmp", 0o1777))
	}
	if len(in.License) > 0 {
		doc := "usr/share/doc/" + p.Name
		entries = append(entries, dir("usr", 0o755), dir("usr/share", 0o755), dir("usr/share/doc", 0o755),
			dir(doc, 0o755), file(doc+"/LICENSE", 0o644, in.License))
	}
	return spec{
		Ref:        ref,
		Entries:    entries,
		Entrypoint: []string{"/" + p.Name},
		User:       programUser,
		CreatedBy:  "kedge image-build: " + p.Name + " " + in.Version + " (static Go)",
	}, nil
}

// readProgram loads what build.sh wrote for p into dir.
func readProgram(dir string, p program) (programInputs, error) {
	var in programInputs
	var err error
	bin := filepath.Join(dir, p.Name)
	if in.Bin, err = os.ReadFile(bin); err != nil {
		return in, fmt.Errorf("%w (programs/build.sh compiles it)", err)
	}
	v, err := os.ReadFile(bin + ".version")
	if err != nil {
		return in, err
	}
	in.Version = strings.TrimSpace(string(v))
	if in.License, err = os.ReadFile(bin + ".license"); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return in, err
}

// smokeProgram runs the binary's version flag, which proves it starts on
// its target (right architecture, fully static) and is the version its tag
// claims.
func smokeProgram(ctx context.Context, t target, p program, bin, version string, stderr io.Writer) error {
	out, ran, err := runFor(ctx, t, bin, p.VersionArgs...)
	if !ran {
		fmt.Fprintf(stderr, "image-build: %s: no %s, %s not smoke-tested\n", t.Name, t.QEMU, p.Name)
		return nil
	}
	if err != nil || !bytes.Contains(out, []byte(version)) {
		return fmt.Errorf("%s %s: %v: %q, want version %s", bin, strings.Join(p.VersionArgs, " "), err, out, version)
	}
	return nil
}

// programsDir is where build.sh left t's programs.
func programsDir(o options, t target) string {
	if o.programs != "" {
		return o.programs
	}
	return filepath.Join(o.cache, t.Name, "programs")
}

func programFor(ctx context.Context, o options, t target, p program, caCerts func() ([]byte, error), stderr io.Writer) (spec, error) {
	dir := programsDir(o, t)
	in, err := readProgram(dir, p)
	if err != nil {
		return spec{}, err
	}
	if o.smoke {
		if err := smokeProgram(ctx, t, p, filepath.Join(dir, p.Name), in.Version, stderr); err != nil {
			return spec{}, err
		}
	}
	if p.CACerts {
		if in.CACerts, err = caCerts(); err != nil {
			return spec{}, err
		}
	}
	return programSpec(p, in)
}
