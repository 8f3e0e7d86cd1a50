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
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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
	if o.zstdLevel < 1 || o.zstdLevel > 19 {
		return fmt.Errorf("--zstd-level %d: want 1 to 19", o.zstdLevel)
	}
	if len(ts) != 1 && (o.pauseBin != "" || o.busyboxDeb != "" || o.cc != "" || o.programs != "") {
		return errors.New("--pause-bin, --busybox-deb, --cc and --programs apply to a single --arch")
	}
	want, err := parseImages(o.images)
	if err != nil {
		return err
	}
	if o.refs, err = readImageList(o.imageList); err != nil {
		return err
	}
	for _, t := range ts {
		if err := runArch(ctx, o, t, want, stdout, stderr); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	return nil
}

// runArch builds and writes t's archives unless the stamp says the ones on
// disk came from the same inputs.
func runArch(ctx context.Context, o options, t target, want map[string]bool, stdout, stderr io.Writer) error {
	start := time.Now()
	digest, err := inputsDigest(ctx, o, t, want)
	if err != nil {
		return err
	}
	if ok, err := upToDate(o, t, want, digest); ok || err != nil {
		if ok {
			fmt.Fprintf(stdout, "%s: up to date (%s)\n", t.Name, stampPath(o, t, want))
		}
		return err
	}
	imgs, err := buildArch(ctx, o, t, want, stderr)
	if err != nil {
		return err
	}
	if err := writeArch(stdout, o, t, imgs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: built in %s\n\n", t.Name, time.Since(start).Round(time.Millisecond))
	return writeStamp(o, t, want, digest)
}

// imageNames lists every image in build order: pause first, then busybox,
// then the packaged components.
func imageNames() []string {
	names := []string{"pause", "busybox"}
	for _, p := range programs {
		names = append(names, p.Name)
	}
	return names
}

func parseImages(list string) (map[string]bool, error) {
	known := imageNames()
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("unknown image %q (want %s)", n, strings.Join(known, ", "))
		}
		want[n] = true
	}
	return want, nil
}

// buildArch assembles the images for t in imageNames order, so the output
// does not depend on flag order.
func buildArch(ctx context.Context, o options, t target, want map[string]bool, stderr io.Writer) ([]built, error) {
	work := filepath.Join(o.cache, t.Name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	steps := map[string]func() (spec, error){
		"pause":   func() (spec, error) { return pauseFor(ctx, o, t, o.refs["pause"], work, stderr) },
		"busybox": func() (spec, error) { return busyboxFor(ctx, o, t, work, stderr) },
	}
	certs := sync.OnceValues(func() ([]byte, error) {
		deb, err := caDebFor(ctx, o)
		if err != nil {
			return nil, err
		}
		return caBundle(ctx, deb, work)
	})
	for _, p := range programs {
		steps[p.Name] = func() (spec, error) { return programFor(ctx, o, t, p, certs, stderr) }
	}
	var out []built
	for _, n := range imageNames() {
		if !want[n] {
			continue
		}
		s, err := steps[n]()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if err := o.refs.check(o.imageList, n, s.Ref); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		img, err := buildImage(s, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, built{Name: n, tagged: tagged{Ref: s.Ref, Img: img}})
	}
	return out, nil
}

func pauseFor(ctx context.Context, o options, t target, ref name.Tag, work string, stderr io.Writer) (spec, error) {
	bin := o.pauseBin
	if bin == "" {
		bin = filepath.Join(work, "pause")
		cc := o.cc
		if cc == "" {
			cc = t.CC
		}
		if err := compilePause(ctx, cc, ref.TagStr(), bin); err != nil {
			return spec{}, err
		}
	}
	if o.smoke {
		if err := smokePause(ctx, t, bin, ref.TagStr(), stderr); err != nil {
			return spec{}, err
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return spec{}, err
	}
	return pauseSpec(data, ref), nil
}

func busyboxFor(ctx context.Context, o options, t target, work string, stderr io.Writer) (spec, error) {
	deb, err := busyboxDebFor(ctx, o, t)
	if err != nil {
		return spec{}, err
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
func smokePause(ctx context.Context, t target, bin, version string, stderr io.Writer) error {
	out, ran, err := runFor(ctx, t, bin, "-v")
	if !ran {
		fmt.Fprintf(stderr, "image-build: %s: no %s, pause not smoke-tested\n", t.Name, t.QEMU)
		return nil
	}
	if err != nil || !bytes.Contains(out, []byte("pause "+version)) {
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

// writeArch writes one docker archive per image and the OCI layout tar of
// them all for t, then prints the refs with image IDs and the archives'
// sizes and checksums (what make and the agent handle).
func writeArch(w io.Writer, o options, t target, imgs []built) error {
	images := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	files := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	all := make([]tagged, 0, len(imgs))
	for _, b := range imgs {
		p := filepath.Join(o.out, t.Name, b.Name+".tar")
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
	if o.allDir != "" {
		p := allImagesPath(o.allDir, t)
		if err := writeOCIArchive(p, all, o.zstdLevel); err != nil {
			return err
		}
		if err := reportFile(files, p); err != nil {
			return err
		}
	}
	if err := images.Flush(); err != nil {
		return err
	}
	return files.Flush()
}

// allImagesPath is the OCI layout tar with every image of t, the one kedge
// embeds and serves.
func allImagesPath(dir string, t target) string {
	return filepath.Join(dir, "kedge-images-"+t.Name+".tar")
}

// reportImage prints the image ID (the config digest), which `crictl
// images` shows; containerd writes its own manifest for a docker archive.
func reportImage(w io.Writer, t target, ti tagged) error {
	id, err := ti.Img.ConfigName()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\tlinux/%s\tid %s\n", ti.Ref, platformOf(t), id)
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
