package images

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/kedge-io/kedge/agent/bundle"
	"github.com/kedge-io/kedge/agent/containerd"
)

// pauseArchive is built by `make images-amd64` (a prerequisite of test-unit).
const pauseArchive = "../../dist/images/amd64/pause.tar"

func TestImportDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("containerd needs root")
	}
	src, err := os.ReadFile(pauseArchive)
	if err != nil {
		t.Fatalf("%v: run `make images-amd64` first", err)
	}
	dir := t.TempDir()
	ctr, socket := startContainerd(t, dir)

	images := filepath.Join(dir, "images")
	writeFile(t, filepath.Join(images, "a-pause.tar"), src)
	writeFile(t, filepath.Join(images, "b-pause.tar.zst"), zstdBytes(t, src))
	writeFile(t, filepath.Join(images, "c-broken.tar.gz"), []byte("not an archive"))
	writeFile(t, filepath.Join(images, "notes.txt"), []byte("ignored"))

	im := &Importer{Ctr: ctr, Socket: socket, StateFile: filepath.Join(dir, "imported.json")}
	err = im.ImportDir(context.Background(), images)
	if err == nil || !strings.Contains(err.Error(), "c-broken.tar.gz") {
		t.Fatalf("want an error naming c-broken.tar.gz, got %v", err)
	}
	if strings.Contains(err.Error(), "a-pause") || strings.Contains(err.Error(), "b-pause") {
		t.Fatalf("good archives reported as failed: %v", err)
	}
	out, _ := exec.Command(ctr, "--address", socket, "-n", "k8s.io", "images", "ls", "-q").CombinedOutput()
	if !strings.Contains(string(out), "kedge.local/pause:3.10") {
		t.Fatalf("pause image not imported; ctr images ls:\n%s", out)
	}

	// Imported archives are skipped by digest: a ctr that always fails
	// must not be called for them.
	im.Ctr = "/bin/false"
	err = im.ImportDir(context.Background(), images)
	if err == nil || strings.Contains(err.Error(), "pause") {
		t.Fatalf("second run: want only c-broken to fail, got %v", err)
	}
}

func startContainerd(t *testing.T, dir string) (ctr, socket string) {
	t.Helper()
	bin, err := bundle.Unpack(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := containerd.Config{
		Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "run"), BinDir: bin,
		CNIConfDir: filepath.Join(dir, "cni"), PauseImage: "kedge.local/pause:3.10", Snapshotter: "native",
		RestrictOOMScoreAdj: !containerd.CanLowerOOMScore(),
	}
	c := containerd.New(cfg, func() []string { return []string{"PATH=" + bundle.Prepend(os.Getenv("PATH"), bin)} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return filepath.Join(bin, "ctr"), cfg.Socket()
}

func zstdBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(b, nil)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestArchivesFilter(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.tar.zst", "a.tar", "c.tar.gz", "d.txt", "e.tar.bak"} {
		writeFile(t, filepath.Join(dir, n), nil)
	}
	got, err := Archives(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, filepath.Base(f))
	}
	if strings.Join(names, " ") != "a.tar b.tar.zst c.tar.gz" {
		t.Fatalf("got %v", names)
	}
	if files, err := Archives(filepath.Join(dir, "missing")); err != nil || files != nil {
		t.Fatalf("missing dir: %v %v", files, err)
	}
}
