package teardown

import (
	"slices"
	"strings"
	"testing"
)

// mountinfo has kedge's mounts mixed with the host's, a path with an
// escaped space, two mounts stacked on one point, and siblings that share
// a root's prefix.
const mountinfo = `22 1 0:21 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,mode=755
23 1 8:1 / /var/lib/kedge rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:4 net:[4026532300] /run/kedge/containerd/io.containerd.grpc.v1.cri/netns/cni-1 rw shared:7 - nsfs nsfs rw
31 23 0:50 / /var/lib/kedge/agent/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay overlay rw,lowerdir=/x
32 23 0:51 / /var/lib/kedge/agent/kubelet/pods/uid/volumes/kubernetes.io~empty-dir/my\040vol rw - tmpfs tmpfs rw
33 32 0:52 / /var/lib/kedge/agent/kubelet/pods/uid/volumes/kubernetes.io~empty-dir/my\040vol/sub rw - tmpfs tmpfs rw
34 23 0:53 / /var/lib/kedge/agent/kubelet/pods/uid/volumes/kubernetes.io~projected/token rw - tmpfs tmpfs rw
35 23 0:54 / /var/lib/kedge/agent/kubelet/pods/uid/volumes/kubernetes.io~projected/token rw - tmpfs tmpfs rw
36 22 0:4 net:[4026532400] /run/netns/cni-2 rw shared:8 - nsfs nsfs rw
37 22 0:4 net:[4026532401] /run/netns/vpn rw shared:9 - nsfs nsfs rw
38 22 0:55 / /run/kedge2/x rw - tmpfs tmpfs rw
39 23 0:56 / /var/lib/kedge/agent/kubelet-other/x rw - tmpfs tmpfs rw
40 1 0:57 / /var/lib/kedge/agent/kubelet rw - ext4 /dev/sdb1 rw
`

func TestParseMountinfo(t *testing.T) {
	ms, err := parseMountinfo(strings.NewReader(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 13 {
		t.Fatalf("got %d mounts", len(ms))
	}
	if got := ms[4]; got.id != 32 || got.point != "/var/lib/kedge/agent/kubelet/pods/uid/volumes/kubernetes.io~empty-dir/my vol" {
		t.Fatalf("escaped line: %+v", got)
	}
}

func TestParseMountinfoBadID(t *testing.T) {
	if _, err := parseMountinfo(strings.NewReader("x 1 0:1 / /a rw - tmpfs t rw\n")); err == nil {
		t.Fatal("want an error for a non-numeric mount ID")
	}
}

func TestSelectMountsDeepestFirst(t *testing.T) {
	ms, err := parseMountinfo(strings.NewReader(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	under := underAny("/run/kedge", "/var/lib/kedge/agent/kubelet", "/var/lib/kedge/agent/containerd")
	got := selectMounts(ms, under)
	var ids []int
	for _, m := range got {
		ids = append(ids, m.id)
	}
	// By depth (11, 10, 10, 10, 9, 6); at equal depth the higher ID
	// first, so the stacked token mounts come off newest first. Neither
	// root mount (23, 40), nor siblings (38, 39), nor /run/netns, which
	// other tools share.
	want := []int{33, 35, 34, 32, 31, 30}
	if !slices.Equal(ids, want) {
		t.Fatalf("order %v, want %v", ids, want)
	}
}

func TestUnderAnyExcludesRootAndSiblings(t *testing.T) {
	under := underAny("/run/kedge")
	for p, want := range map[string]bool{
		"/run/kedge":        false,
		"/run/kedge/a":      true,
		"/run/kedge2/a":     false,
		"/run/kedge/a/b/c":  true,
		"/run/kedgeish/a/b": false,
	} {
		if got := under(p); got != want {
			t.Errorf("under(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:    "/a b",
		`/tab\011x`:  "/tab\tx",
		`/back\134s`: `/back\s`,
		`/plain`:     "/plain",
		`/short\04`:  `/short\04`,
		`/not\999`:   `/not\999`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
