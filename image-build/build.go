package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// built is one image of one architecture, with the short name its own
// archive is written under.
type built struct {
	Name string
	tagged
}

// run builds every requested image for every requested architecture and
// writes the archives.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	ts, err := parseTargets(o.arches)
	if err != nil {
		return err
	}
	if len(ts) != 1 && (o.pauseBin != "" || o.busyboxDeb != "" || o.cc != "") {
		return errors.New("--pause-bin, --busybox-deb and --cc apply to a single --arch")
	}
	want, err := parseImages(o.images)
	if err != nil {
		return err
	}
	for _, t := range ts {
		start := time.Now()
		imgs, err := buildArch(ctx, o, t, want, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if err := writeArch(stdout, o.out, t, imgs); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		fmt.Fprintf(stdout, "%s: built in %s\n\n", t.Name, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func parseImages(list string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		switch n = strings.TrimSpace(n); n {
		case "pause", "busybox":
			want[n] = true
		default:
			return nil, fmt.Errorf("unknown image %q (want pause, busybox)", n)
		}
	}
	return want, nil
}

// buildArch assembles the images for t in a fixed order (pause first), so
// the output does not depend on flag order.
func buildArch(ctx context.Context, o options, t target, want map[string]bool, stderr io.Writer) ([]built, error) {
	work := filepath.Join(o.cache, t.Name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	type step struct {
		name string
		spec func() (spec, error)
	}
	steps := []step{
		{"pause", func() (spec, error) { return pauseFor(ctx, o, t, work, stderr) }},
		{"busybox", func() (spec, error) { return busyboxFor(ctx, o, t, work, stderr) }},
	}
	var out []built
	for _, st := range steps {
		if !want[st.name] {
			continue
		}
		s, err := st.spec()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.name, err)
		}
		img, err := buildImage(s, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.name, err)
		}
		out = append(out, built{Name: st.name, tagged: tagged{Ref: s.Ref, Img: img}})
	}
	return out, nil
}

func pauseFor(ctx context.Context, o options, t target, work string, stderr io.Writer) (spec, error) {
	bin := o.pauseBin
	if bin == "" {
		bin = filepath.Join(work, "pause")
		cc := o.cc
		if cc == "" {
			cc = t.CC
		}
		if err := compilePause(ctx, cc, bin); err != nil {
			return spec{}, err
		}
	}
	if o.smoke {
		if err := smokePause(ctx, t, bin, stderr); err != nil {
			return spec{}, err
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return spec{}, err
	}
	return pauseSpec(data), nil
}

func busyboxFor(ctx context.Context, o options, t target, work string, stderr io.Writer) (spec, error) {
	deb := o.busyboxDeb
	if deb == "" {
		deb = debPath(o.cache, t)
		if o.download {
			if err := fetchDeb(ctx, deb, t); err != nil {
				return spec{}, err
			}
		}
	}
	if _, err := os.Stat(deb); err != nil {
		return spec{}, fmt.Errorf("%w (make images-%s fetches it with scripts/deps.sh)", err, t.Name)
	}
	root := filepath.Join(work, "busybox-static")
	debVersion, err := extractDeb(ctx, deb, root)
	if err != nil {
		return spec{}, err
	}
	version, err := upstreamVersion(debVersion)
	if err != nil {
		return spec{}, err
	}
	bin := filepath.Join(root, "bin", "busybox")
	if o.smoke {
		if err := smokeBusybox(ctx, t, bin, stderr); err != nil {
			return spec{}, err
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return spec{}, err
	}
	// The licence file is optional: a hand-made --busybox-deb may lack it.
	copyright, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/busybox-static/copyright"))
	return busyboxSpec(data, copyright, version)
}

// runFor runs a binary built for t: natively on a matching host, else under
// qemu user emulation. ran is false when neither is available, since a
// missing emulator must not block a cross build.
func runFor(ctx context.Context, t target, bin string, args ...string) (out []byte, ran bool, err error) {
	argv := append([]string{bin}, args...)
	if runtime.GOARCH != t.Arch {
		q, lerr := exec.LookPath(t.QEMU)
		if lerr != nil {
			return nil, false, nil
		}
		argv = append([]string{q}, argv...)
	}
	out, err = exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	return out, true, err
}

// smokePause catches a binary that cannot start on its target (a wrong
// float ABI or a broken static link) before it is sealed into an image.
func smokePause(ctx context.Context, t target, bin string, stderr io.Writer) error {
	out, ran, err := runFor(ctx, t, bin, "-v")
	if !ran {
		fmt.Fprintf(stderr, "image-build: %s: no %s, pause not smoke-tested\n", t.Name, t.QEMU)
		return nil
	}
	if err != nil || !bytes.Contains(out, []byte("pause "+pauseVersion)) {
		return fmt.Errorf("%s -v: %v: %q", bin, err, out)
	}
	return nil
}

// smokeBusybox checks the binary runs and provides every applet we link,
// so a Debian build that drops one fails here and not inside a pod.
func smokeBusybox(ctx context.Context, t target, bin string, stderr io.Writer) error {
	out, ran, err := runFor(ctx, t, bin, "--list")
	if !ran {
		fmt.Fprintf(stderr, "image-build: %s: no %s, busybox applets not checked\n", t.Name, t.QEMU)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s --list: %w: %s", bin, err, out)
	}
	have := map[string]bool{}
	for _, a := range strings.Fields(string(out)) {
		have[a] = true
	}
	var missing []string
	for _, a := range applets {
		if !have[a] {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("busybox lacks applets %v", missing)
	}
	return nil
}

// writeArch writes one archive per image and the combined one for t, then
// prints the refs and digests (what containerd will know the images by) and
// the archives' sizes and checksums (what make and the agent handle).
func writeArch(w io.Writer, out string, t target, imgs []built) error {
	images := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	files := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	all := make([]tagged, 0, len(imgs))
	for _, b := range imgs {
		p := filepath.Join(out, t.Name, b.Name+".tar")
		if err := writeArchive(p, []tagged{b.tagged}); err != nil {
			return err
		}
		if err := reportImage(images, t, b.tagged); err != nil {
			return err
		}
		if err := reportFile(files, p); err != nil {
			return err
		}
		all = append(all, b.tagged)
	}
	p := filepath.Join(out, "kedge-images-"+t.Name+".tar")
	if err := writeArchive(p, all); err != nil {
		return err
	}
	if err := reportFile(files, p); err != nil {
		return err
	}
	if err := images.Flush(); err != nil {
		return err
	}
	return files.Flush()
}

func reportImage(w io.Writer, t target, ti tagged) error {
	dg, err := ti.Img.Digest()
	if err != nil {
		return err
	}
	id, err := ti.Img.ConfigName()
	if err != nil {
		return err
	}
	platform := "linux/" + t.Arch
	if t.Variant != "" {
		platform += "/" + t.Variant
	}
	_, err = fmt.Fprintf(w, "%s\t%s\tconfig %s\tmanifest %s\n", ti.Ref, platform, id, dg)
	return err
}

func reportFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\t%d bytes\tsha256:%x\n", path, n, h.Sum(nil))
	return err
}
