package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// contents is what extract found in the archive, keyed by bundle path
// ("bin/runc", "netfilter/lib/libc.so.6").
type contents struct {
	manifest    []byte
	sums, sizes map[string]string
}

// extract writes the archive's MANIFEST and files into dir, hashing them on
// the way, and fails unless they match MANIFEST exactly. Everything was
// just hashed, so it writes the marker too.
func extract(archive []byte, dir string) error {
	// One goroutine and no read-ahead buffers: this runs once per version, on
	// nodes that may have 1 GB of RAM.
	zr, err := zstd.NewReader(bytes.NewReader(archive),
		zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return fmt.Errorf("opening zstd stream: %w", err)
	}
	defer zr.Close()
	c, err := readEntries(tar.NewReader(zr), dir)
	if err != nil {
		return err
	}
	want, err := parseList(c.manifest, isHash)
	if err != nil {
		return fmt.Errorf("archive %s: %w", manifestName, err)
	}
	if err := matchManifest(want, c.sums); err != nil {
		return fmt.Errorf("archive does not match its %s: %w", manifestName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), c.manifest, 0o644); err != nil {
		return err
	}
	if err := writeList(filepath.Join(dir, markerName), c.sizes); err != nil {
		return err
	}
	return syncFS(dir) // before install's rename can publish the files
}

// readEntries writes the files under dir and keeps MANIFEST in memory (it
// is written last, only once it matched). Only directories, files and hard
// links to files already written, all at paths inside dir, are accepted, so
// a bad archive cannot write anywhere else. A directory comes before what
// it holds, as tar writes them.
func readEntries(tr *tar.Reader, dir string) (contents, error) {
	c := contents{sums: map[string]string{}, sizes: map[string]string{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return c, fmt.Errorf("reading archive: %w", err)
		}
		switch {
		case h.Name == manifestName && h.Typeflag == tar.TypeReg:
			c.manifest, err = io.ReadAll(tr)
		case h.Typeflag == tar.TypeDir && isDirPath(strings.TrimSuffix(h.Name, "/")):
			err = mkdir(filepath.Join(dir, h.Name))
		case h.Typeflag == tar.TypeReg && isFilePath(h.Name):
			var size int64
			c.sums[h.Name], size, err = writeFile(filepath.Join(dir, h.Name), tr, fileMode(h.Name))
			c.sizes[h.Name] = strconv.FormatInt(size, 10)
		case h.Typeflag == tar.TypeLink && isFilePath(h.Name) && c.sums[h.Linkname] != "":
			// The wrapper of netfilter/bin, one file under many names.
			err = os.Link(filepath.Join(dir, h.Linkname), filepath.Join(dir, h.Name))
			c.sums[h.Name], c.sizes[h.Name] = c.sums[h.Linkname], c.sizes[h.Linkname]
		default:
			err = fmt.Errorf("unexpected archive entry %q (type %c)", h.Name, h.Typeflag)
		}
		if err != nil {
			return c, err
		}
	}
}

// mkdir creates p with mode 0755 whatever kedge's umask, so a bundle looks
// the same on every node.
func mkdir(p string) error {
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	return os.Chmod(p, 0o755)
}

// writeFile creates p with mode and r's content and returns its sha256 and
// size.
func writeFile(p string, r io.Reader, mode os.FileMode) (sum string, size int64, err error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Chmod(mode) // whatever the umask
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("writing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// matchManifest names a file whose digest differs or that only one of want
// and got lists.
func matchManifest(want, got map[string]string) error {
	for name := range got {
		if _, ok := want[name]; !ok {
			return fmt.Errorf("%s is not listed", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[name]
		switch {
		case !ok:
			return fmt.Errorf("%s is listed but not in the archive", name)
		case g != want[name]:
			return fmt.Errorf("%s: sha256 %s, listed as %s", name, g, want[name])
		}
	}
	return nil
}

// syncFS makes everything written to dir's file system durable. One syncfs
// per unpack instead of an fsync per file: each fsync is a journal commit,
// which takes long on an SD card or a disk busy with other writes.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
