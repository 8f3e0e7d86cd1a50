package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/atomicfile"
)

// Importer feeds archives to the bundled ctr.
type Importer struct {
	Ctr       string // path of the bundled ctr binary
	Socket    string // containerd's socket
	StateFile string // digests already imported, so restarts skip them
}

// Archives lists the importable files of dir in name order.
func Archives(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading images dir: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && isArchive(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

func isArchive(name string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.zst"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// ImportDir imports every archive of dir not imported before. A failing
// archive is logged with its name and skipped; the error lists all failures.
func (im *Importer) ImportDir(ctx context.Context, dir string) error {
	files, err := Archives(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if err := im.ImportFile(ctx, f); err != nil {
			klog.Errorf("skipping image archive: %v", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ImportFile imports one archive unless its digest was imported already.
func (im *Importer) ImportFile(ctx context.Context, path string) error {
	digest, err := fileDigest(path)
	if err != nil {
		return fmt.Errorf("image archive %s: %w", path, err)
	}
	return im.importOnce(ctx, path, digest, func() (io.ReadCloser, error) { return openArchive(path) })
}

// ImportBuiltin imports the pause image built into kedge, which every node
// needs before it can start a pod.
func (im *Importer) ImportBuiltin(ctx context.Context) error {
	return im.importBytes(ctx, builtinName, "pause.tar", builtin)
}

// importBytes imports an archive held in memory, keyed by its digest like
// a file and decompressed by the suffix of file, as a file would be.
func (im *Importer) importBytes(ctx context.Context, name, file string, data []byte) error {
	sum := sha256.Sum256(data)
	open := func() (io.ReadCloser, error) {
		r, err := decompress(bytes.NewReader(data), file)
		return io.NopCloser(r), err
	}
	return im.importOnce(ctx, "built-in "+name, "sha256:"+hex.EncodeToString(sum[:]), open)
}

func (im *Importer) importOnce(ctx context.Context, name, digest string, open func() (io.ReadCloser, error)) error {
	done, err := im.load()
	if err != nil {
		return err
	}
	if _, ok := done[digest]; ok {
		klog.V(1).Infof("image archive %s already imported (%s)", name, digest)
		return nil
	}
	r, err := open()
	if err != nil {
		return fmt.Errorf("image archive %s: %w", name, err)
	}
	defer r.Close()
	if err := im.run(ctx, r); err != nil {
		return fmt.Errorf("image archive %s: %w", name, err)
	}
	klog.Infof("imported image archive %s", name)
	done[digest] = filepath.Base(name)
	return im.save(done)
}

// run pipes a decompressed archive into `ctr images import -`. No
// snapshotter is named: containerd's transfer service unpacks for the one
// its config chose, so the choice lives in one place.
func (im *Importer) run(ctx context.Context, r io.Reader) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, im.Ctr, "--address", im.Socket, "--namespace", "k8s.io",
		"images", "import", "-")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ctr images import: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// openArchive returns the archive's tar stream, decompressed by suffix.
func openArchive(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := decompress(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

func decompress(f io.Reader, path string) (io.Reader, error) {
	switch {
	case strings.HasSuffix(path, ".tar.gz"), strings.HasSuffix(path, ".tgz"):
		r, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("not gzip: %w", err)
		}
		return r, nil
	case strings.HasSuffix(path, ".tar.zst"):
		// One decoder goroutine, as for the runtime bundle: a node may be
		// small, and ctr takes the stream no faster.
		r, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("not zstd: %w", err)
		}
		return r.IOReadCloser(), nil
	}
	return f, nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func (im *Importer) load() (map[string]string, error) {
	done := map[string]string{}
	data, err := os.ReadFile(im.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", im.StateFile, err)
	}
	if err := json.Unmarshal(data, &done); err != nil {
		// The record only saves work; a damaged one means importing again.
		klog.Warningf("ignoring damaged %s: %v", im.StateFile, err)
		return map[string]string{}, nil
	}
	return done, nil
}

func (im *Importer) save(done map[string]string) error {
	data, err := json.MarshalIndent(done, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(im.StateFile), 0o700); err != nil {
		return err
	}
	if err := atomicfile.Write(im.StateFile, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", im.StateFile, err)
	}
	return nil
}

// builtinName names the built-in pause archive in logs and the import
// record.
const builtinName = "pause image"
