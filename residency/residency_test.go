package residency

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func rssFileKB(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// mapped returns a read-only private file mapping of size bytes: the same
// kind of memory as data go:embed'ed into the kedge binary.
func mapped(t *testing.T, size int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blob")
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(i)
	}
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Munmap(data) })
	return data
}

func touch(data []byte) (sum int) {
	for i := 0; i < len(data); i += 512 {
		sum += int(data[i])
	}
	return sum
}

func TestReleaseDropsPagesAndKeepsContent(t *testing.T) {
	const size = 16 << 20
	data := mapped(t, size)
	want := touch(data)
	resident := rssFileKB(t)
	Release(data)
	if dropped := resident - rssFileKB(t); dropped < size/1024/2 {
		t.Errorf("Release dropped %d KiB of a %d KiB resident mapping", dropped, size/1024)
	}
	if got := touch(data); got != want {
		t.Errorf("content read back after Release differs (sum %d, want %d)", got, want)
	}
}

func TestReleaseSmallOrEmpty(t *testing.T) {
	data := mapped(t, 4096)
	Release(data[1:100]) // no whole page: nothing to do, must not fail
	Release(nil)
	if data[5] != 5 {
		t.Error("content changed")
	}
}
