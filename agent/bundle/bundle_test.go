package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// testFiles is a bundle like build.sh's: programs in bin/, netfilter/bin
// and netfilter/sbin, and data files elsewhere.
var testFiles = map[string]string{
	"bin/containerd":                      "#!/bin/sh\necho containerd\n",
	"bin/runc":                            strings.Repeat("runc binary ", 1000),
	"bin/bridge":                          "bridge",
	"netfilter/bin/ip6tables":             "wrapper",
	"netfilter/sbin/ld.so":                "loader",
	"netfilter/lib/libc.so.6":             "libc",
	"netfilter/share/doc/libc6/copyright": "GPL",
}

// testLinks are hard links, name -> target, that makeArchive adds for the
// targets in its files, like the wrapper's other names in netfilter/bin.
// tar links each name to the first in order, which holds the data.
var testLinks = map[string]string{"netfilter/bin/iptables": "netfilter/bin/ip6tables"}

// tarEntry is one header and its data.
type tarEntry struct {
	hdr  tar.Header
	body string
}

// makeArchive builds a runtime archive like build.sh does: MANIFEST first,
// then every directory before what it holds, the files, and testLinks.
// manifest overrides the MANIFEST computed from them when not nil.
func makeArchive(t *testing.T, files map[string]string, manifest *string) []byte {
	t.Helper()
	if manifest == nil {
		m := manifestOf(unpacked(files))
		manifest = &m
	}
	entries := []tarEntry{{tar.Header{Name: manifestName, Mode: 0o644, Typeflag: tar.TypeReg}, *manifest}}
	return archiveOf(t, append(entries, entriesOf(files)...))
}

// entriesOf is files and their testLinks as tar entries, in name order
// with each directory first, with the modes build.sh gives them.
func entriesOf(files map[string]string) []tarEntry {
	var entries []tarEntry
	dirs := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(unpacked(files))) {
		for i, c := range name {
			if dir := name[:i+1]; c == '/' && !dirs[dir] {
				dirs[dir] = true
				entries = append(entries, tarEntry{hdr: tar.Header{Name: dir, Mode: 0o755, Typeflag: tar.TypeDir}})
			}
		}
		if target, ok := testLinks[name]; ok {
			entries = append(entries, tarEntry{hdr: tar.Header{Name: name, Linkname: target, Mode: 0o755, Typeflag: tar.TypeLink}})
			continue
		}
		entries = append(entries, tarEntry{tar.Header{Name: name, Mode: int64(fileMode(name)), Typeflag: tar.TypeReg}, files[name]})
	}
	return entries
}

// archiveOf is entries as a zstd-compressed tar.
func archiveOf(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, e := range entries {
		e.hdr.Size = int64(len(e.body))
		if err := tw.WriteHeader(&e.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(tarBuf.Bytes(), nil)
}

// unpacked is what a bundle of files holds once unpacked: the files, and
// the names testLinks give them.
func unpacked(files map[string]string) map[string]string {
	all := maps.Clone(files)
	for name, target := range testLinks {
		if body, ok := files[target]; ok {
			all[name] = body
		}
	}
	return all
}

func manifestOf(files map[string]string) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(files)) {
		sum := sha256.Sum256([]byte(files[name]))
		fmt.Fprintf(&b, "%x  %s\n", sum, name)
	}
	return b.String()
}

func hashDir(dataDir string, archive []byte) string {
	sum := sha256.Sum256(archive)
	return filepath.Join(dataDir, "data", hex.EncodeToString(sum[:]))
}

// mustUnpack unpacks archive and checks the result is the complete bundle.
func mustUnpack(t *testing.T, archive []byte, dataDir string) string {
	t.Helper()
	bin, err := testUnpack(archive, dataDir)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if want := filepath.Join(hashDir(dataDir, archive), "bin"); bin != want {
		t.Fatalf("bin dir %s, want %s", bin, want)
	}
	checkBundle(t, filepath.Dir(bin), unpacked(testFiles))
	return bin
}

// checkBundle checks that dir holds exactly files, besides MANIFEST and
// the marker, programs 0755 and the rest 0644, and the links as links.
func checkBundle(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			found = append(found, filepath.ToSlash(strings.TrimPrefix(p, dir+"/")))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Collect(maps.Keys(files)), manifestName, markerName)
	slices.Sort(want)
	if slices.Sort(found); !slices.Equal(found, want) {
		t.Errorf("%s holds %v, want %v", dir, found, want)
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != body {
			t.Errorf("%s: content %.20q..., want %.20q...", p, got, body)
		}
		if info, _ := os.Stat(p); info.Mode().Perm() != fileMode(name) {
			t.Errorf("%s: mode %s, want %s", p, info.Mode(), fileMode(name))
		}
	}
	for name, target := range testLinks {
		a, errA := os.Stat(filepath.Join(dir, name))
		b, errB := os.Stat(filepath.Join(dir, target))
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			t.Errorf("%s is not a hard link to %s (%v, %v)", name, target, errA, errB)
		}
	}
}

func TestUnpackFresh(t *testing.T) {
	dataDir := t.TempDir()
	archive := makeArchive(t, testFiles, nil)
	bin := mustUnpack(t, archive, dataDir)
	for _, p := range []string{bin, filepath.Dir(bin)} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v, want a 0755 dir", p, info, err)
		}
	}
	for _, name := range []string{"MANIFEST", ".verified"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(bin), name)); err != nil {
			t.Error(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dataDir, "data"))
	if len(entries) != 1 {
		t.Errorf("data/ holds %v, want only the hash dir (no temporary dirs)", entries)
	}
}

func TestUnpackAgainIsNoop(t *testing.T) {
	dataDir := t.TempDir()
	archive := makeArchive(t, testFiles, nil)
	bin := mustUnpack(t, archive, dataDir)
	// Backdate the files: a re-extraction would give them the current time.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for name := range testFiles {
		if err := os.Chtimes(filepath.Join(filepath.Dir(bin), name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	mustUnpack(t, archive, dataDir)
	for name := range testFiles {
		info, err := os.Stat(filepath.Join(filepath.Dir(bin), name))
		if err != nil {
			t.Fatal(err)
		}
		if !info.ModTime().Equal(old) {
			t.Errorf("%s was rewritten (mtime %v, want %v)", name, info.ModTime(), old)
		}
	}
}

// TestUnpackReplacesDamage damages an unpacked bundle in the ways a node
// sees and checks the next unpack restores it.
func TestUnpackReplacesDamage(t *testing.T) {
	tests := []struct {
		name         string
		removeMarker bool
		damage       func(dir string) error
	}{
		{"truncated, no marker", true, func(dir string) error {
			return os.Truncate(filepath.Join(dir, "bin/runc"), 10)
		}},
		// Same size: only the sha256 check, which runs without a marker, sees it.
		{"same-size rewrite, no marker", true, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "bin/bridge"), []byte("BRIDGE"), 0o755)
		}},
		{"truncated, marker present", false, func(dir string) error {
			return os.Truncate(filepath.Join(dir, "bin/containerd"), 3)
		}},
		{"missing file", false, func(dir string) error {
			return os.Remove(filepath.Join(dir, "bin/runc"))
		}},
		{"extra file", false, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "bin/evil"), []byte("x"), 0o755)
		}},
		{"not executable", false, func(dir string) error {
			return os.Chmod(filepath.Join(dir, "bin/runc"), 0o644)
		}},
		{"loader not executable", false, func(dir string) error {
			return os.Chmod(filepath.Join(dir, "netfilter/sbin/ld.so"), 0o644)
		}},
		{"extra file outside bin", false, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "netfilter/lib/libevil.so"), []byte("x"), 0o644)
		}},
		{"extra file at the top", false, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "evil"), []byte("x"), 0o644)
		}},
		{"library replaced by a symlink", false, func(dir string) error {
			lib := filepath.Join(dir, "netfilter/lib/libc.so.6")
			if err := os.Remove(lib); err != nil {
				return err
			}
			return os.Symlink("/lib/x86_64-linux-gnu/libc.so.6", lib)
		}},
		{"MANIFEST gone", false, func(dir string) error {
			return os.Remove(filepath.Join(dir, "MANIFEST"))
		}},
		{"bin gone", false, func(dir string) error {
			return os.RemoveAll(filepath.Join(dir, "bin"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			archive := makeArchive(t, testFiles, nil)
			dir := filepath.Dir(mustUnpack(t, archive, dataDir))
			if tt.removeMarker {
				if err := os.Remove(filepath.Join(dir, ".verified")); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.damage(dir); err != nil {
				t.Fatal(err)
			}
			if err := verify(dir); err == nil {
				t.Fatal("verify accepted the damaged bundle")
			}
			mustUnpack(t, archive, dataDir)
			if err := verify(dir); err != nil {
				t.Errorf("bundle still damaged after unpack: %v", err)
			}
		})
	}
}

// TestVerifyWritesMarker checks that a bundle missing only its marker is
// fully verified in place (not re-extracted) and gets the marker back.
func TestVerifyWritesMarker(t *testing.T) {
	dataDir := t.TempDir()
	archive := makeArchive(t, testFiles, nil)
	dir := filepath.Dir(mustUnpack(t, archive, dataDir))
	marker := filepath.Join(dir, ".verified")
	want, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(filepath.Join(dir, "bin/runc"))
	mustUnpack(t, archive, dataDir)
	got, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("marker not rewritten: %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("marker %q, want %q", got, want)
	}
	if after, _ := os.Stat(filepath.Join(dir, "bin/runc")); !os.SameFile(before, after) {
		t.Error("an intact bundle without marker was extracted again")
	}
}

func TestUnpackRemovesOldBundles(t *testing.T) {
	dataDir := t.TempDir()
	data := filepath.Join(dataDir, "data")
	older := filepath.Join(data, strings.Repeat("a", 64))
	previous := filepath.Join(data, strings.Repeat("b", 64))
	keep := []string{
		previous,
		filepath.Join(data, "notes"),
		filepath.Join(data, strings.Repeat("c", 63)),
		filepath.Join(data, strings.Repeat("D", 64)), // not ours: uppercase
		filepath.Join(data, ".tmp-"+strings.Repeat("e", 64)+"-1"),
	}
	for i, dir := range append([]string{older}, keep...) {
		if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		used := time.Now().Add(time.Duration(i-10) * time.Hour)
		if err := os.Chtimes(dir, used, used); err != nil {
			t.Fatal(err)
		}
	}
	hexFile := filepath.Join(data, strings.Repeat("f", 64))
	if err := os.WriteFile(hexFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	mustUnpack(t, makeArchive(t, testFiles, nil), dataDir)
	if _, err := os.Stat(older); !os.IsNotExist(err) {
		t.Errorf("old bundle %s not removed (%v)", older, err)
	}
	for _, p := range append(keep, hexFile) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s should be kept: %v", p, err)
		}
	}
}

// TestUnpackKeepsPreviousBundle runs versions 0, 1, 0 (a rollback), 2: the
// bundle used last before the current one stays (its shims may still run),
// so 0 is kept and 1 removed although 1 was unpacked later.
func TestUnpackKeepsPreviousBundle(t *testing.T) {
	dataDir := t.TempDir()
	var archives [][]byte
	for i := range 3 {
		files := maps.Clone(testFiles)
		files["bin/runc"] += fmt.Sprint(i)
		archives = append(archives, makeArchive(t, files, nil))
	}
	for _, v := range []int{0, 1, 0, 2} {
		// Age what exists so this step's use is the newest whatever the
		// file system's timestamp granularity.
		entries, _ := os.ReadDir(filepath.Join(dataDir, "data"))
		for _, e := range entries {
			p := filepath.Join(dataDir, "data", e.Name())
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			older := info.ModTime().Add(-time.Hour)
			if err := os.Chtimes(p, older, older); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := testUnpack(archives[v], dataDir); err != nil {
			t.Fatal(err)
		}
	}
	for v, want := range []bool{true, false, true} {
		_, err := os.Stat(hashDir(dataDir, archives[v]))
		if exists := err == nil; exists != want {
			t.Errorf("version %d: exists=%v, want %v (%v)", v, exists, want, err)
		}
	}
}

func TestUnpackRejectsBadArchive(t *testing.T) {
	wrong := manifestOf(unpacked(testFiles))
	wrong = strings.Replace(wrong, wrong[:64], strings.Repeat("0", 64), 1)
	extra := maps.Clone(testFiles)
	extra["bin/unlisted"] = "x"
	missing := manifestOf(map[string]string{"bin/gone": "y"}) + manifestOf(unpacked(testFiles))
	escape := maps.Clone(testFiles)
	escape["bin/../../evil"] = "x"
	twice := manifestOf(unpacked(testFiles)) + manifestOf(map[string]string{"bin/runc": testFiles["bin/runc"]})
	top := maps.Clone(testFiles)
	top[markerName] = "0  bin/runc\n"
	empty := ""
	tests := []struct {
		name     string
		files    map[string]string
		manifest *string
		want     string
	}{
		{"wrong sum", testFiles, &wrong, "bin/bridge: sha256"},
		{"file not listed", extra, ptr(manifestOf(unpacked(testFiles))), "bin/unlisted is not listed"},
		{"listed file missing", testFiles, &missing, "bin/gone is listed but not in the archive"},
		{"path outside the bundle", escape, ptr(manifestOf(unpacked(testFiles))), "unexpected archive entry"},
		{"file at the top", top, ptr(manifestOf(unpacked(testFiles))), "unexpected archive entry"},
		{"file listed twice", testFiles, &twice, "bin/runc listed twice"},
		{"empty MANIFEST", testFiles, &empty, "lists no files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			archive := makeArchive(t, tt.files, tt.manifest)
			_, err := testUnpack(archive, dataDir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("unpack error %v, want one containing %q", err, tt.want)
			}
			entries, _ := os.ReadDir(filepath.Join(dataDir, "data"))
			if len(entries) != 0 {
				t.Errorf("data/ holds %v after a failed unpack, want nothing", entries)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "evil")); err == nil {
				t.Error("archive wrote outside its dir")
			}
		})
	}
	if _, err := testUnpack([]byte("not zstd"), t.TempDir()); err == nil {
		t.Error("unpack accepted garbage")
	}
}

// TestUnpackRejectsBadLinks checks that a hard link must name a file the
// archive wrote before it, so none can reach a file outside the bundle.
func TestUnpackRejectsBadLinks(t *testing.T) {
	for _, target := range []string{"/etc/passwd", "../../evil", "bin/later", "bin/"} {
		t.Run(target, func(t *testing.T) {
			entries := entriesOf(testFiles)
			link := tarEntry{hdr: tar.Header{Name: "bin/link", Linkname: target, Mode: 0o755, Typeflag: tar.TypeLink}}
			entries = append(append([]tarEntry{entries[0], link}, entries[1:]...),
				tarEntry{tar.Header{Name: "bin/later", Mode: 0o755, Typeflag: tar.TypeReg}, "later"})
			_, err := testUnpack(archiveOf(t, entries), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), `unexpected archive entry "bin/link"`) {
				t.Fatalf("unpack error %v, want the link refused", err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestPrepend(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", "/b"},
		{"/usr/bin:/bin", "/b:/usr/bin:/bin"},
		{"/usr/bin:/b:/bin", "/b:/usr/bin:/bin"},
		{"/b/:/usr/bin:/usr/bin/:/bin", "/b:/usr/bin:/bin"},
	}
	for _, tt := range tests {
		if got := Prepend(tt.path, "/b"); got != tt.want {
			t.Errorf("Prepend(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestEmbeddedBundle unpacks the real archive this package embeds, which
// checks build.sh's output: MANIFEST matches, every binary kedge runs is
// in, and the bundled iptables and nft run on this host.
func TestEmbeddedBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("unpacks ~130 MB")
	}
	root := t.TempDir()
	bin, err := Unpack(root)
	if err != nil {
		t.Fatal(err)
	}
	if bin != BinDir(root) {
		t.Errorf("Unpack gave %s, BinDir says %s", bin, BinDir(root))
	}
	for _, name := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "crictl",
		"bridge", "host-local", "loopback", "portmap", "bandwidth"} {
		if _, err := bundleFile(filepath.Dir(bin), path.Join(binDir, name)); err != nil {
			t.Error(err)
		}
	}
	if nf := NetfilterBinDir(root); nf != filepath.Join(filepath.Dir(bin), "netfilter", "bin") {
		t.Errorf("NetfilterBinDir is %s, want netfilter/bin beside %s", nf, bin)
	}
	checkNetfilterTools(t, NetfilterBinDir(root))
}

// checkNetfilterTools runs the bundle's iptables and nft wrappers with
// --version, which loads every library they link to and talks to no kernel
// interface, and checks that KEDGE_IPTABLES_MODE picks the backend.
func checkNetfilterTools(t *testing.T, dir string) {
	t.Helper()
	for _, tt := range []struct{ name, mode, want string }{
		{"iptables", "", "iptables v1.8.9 (nf_tables)"},
		{"iptables", "nft", "iptables v1.8.9 (nf_tables)"},
		{"iptables", "legacy", "iptables v1.8.9 (legacy)"},
		{"ip6tables-restore", "legacy", "ip6tables-restore v1.8.9 (legacy)"},
		{"iptables-nft-save", "legacy", "iptables-nft-save v1.8.9 (nf_tables)"},
		{"ip6tables-legacy-save", "", "ip6tables-save v1.8.9 (legacy)"},
		{"nft", "legacy", "nftables v1.0.6"},
		{"iptables", "bogus", `KEDGE_IPTABLES_MODE is "bogus": want nft or legacy`},
	} {
		cmd := exec.Command(filepath.Join(dir, tt.name), "--version")
		cmd.Env = append(os.Environ(), "KEDGE_IPTABLES_MODE="+tt.mode)
		out, err := cmd.CombinedOutput()
		if !strings.Contains(string(out), tt.want) || (err != nil) != (tt.mode == "bogus") {
			t.Errorf("KEDGE_IPTABLES_MODE=%s %s --version: %v %q, want %q", tt.mode, tt.name, err, out, tt.want)
		}
	}
}

// testUnpack unpacks archive the way Unpack does for a data dir.
func testUnpack(archive []byte, dataDir string) (string, error) {
	return unpack(archive, hashOf(archive), filepath.Join(dataDir, "data"))
}
