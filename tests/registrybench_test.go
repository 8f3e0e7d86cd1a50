//go:build e2e

package tests

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// pullBenchBytes is the size of the benchmark's image: one layer of
// random bytes, which no compression shrinks.
const pullBenchBytes = 50 << 20

// TestRegistryBenchmark times a node pulling a 50 MiB image from the
// site's registry (Debian's docker-registry, plain HTTP, in a second test
// node), through a registries.yaml mirror entry, with `kedge crictl pull`.
func TestRegistryBenchmark(t *testing.T) {
	requireBench(t)
	top := newTopology(t, 2)
	reg := startRegistry(t, top.Nodes[1], registrySpec{port: 5000})
	img, err := random.Image(pullBenchBytes, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.push(t, img, "bench/big:1")
	n := newNode(t, nodeSpec{net: top.Nodes[0], flags: noPackaged})
	writeFile(t, n.registries, fmt.Sprintf("mirrors:\n  %q:\n    endpoint: [%q]\n", reg.host, reg.url()))
	n.startReady(t)
	n.net.HasNoRouteOut(t)
	begin := time.Now()
	if out, err := n.crictl("pull", ref); err != nil {
		t.Fatalf("crictl pull %s: %v\n%s", ref, err, out)
	}
	took := time.Since(begin)

	benchHeader("registry pull: a node and the site's registry in test network namespaces")
	benchRow("pull of a 50 MiB image (plain HTTP mirror)", ms(took), "")
	benchRow("  throughput", fmt.Sprintf("%.0f MiB/s", float64(pullBenchBytes)/(1<<20)/took.Seconds()), "")
}

// diskUse is the disk space the files under dir take (allocated blocks,
// each hard-linked file once): what containerd's content store and
// snapshots cost a node.
func diskUse(t *testing.T, dir string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok || seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		total += st.Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatalf("disk use of %s: %v", dir, err)
	}
	return total
}
