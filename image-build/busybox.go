package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

const busyboxRepo = "kedge.local/busybox"

// applets get a symlink in /bin: the commands tests and debugging sessions
// reach for. Others still work as `busybox NAME`. timeout is here because
// Debian's static 1.35 build crashes on `wget -T`; `timeout 5 wget` works.
var applets = []string{
	"ash", "awk", "base64", "cat", "chmod", "chown", "cp", "date", "dd", "df",
	"du", "echo", "env", "false", "find", "free", "grep", "head", "hostname",
	"httpd", "id", "ifconfig", "ip", "kill", "ln", "ls", "md5sum", "mkdir",
	"mount", "mv", "nc", "netstat", "nslookup", "ping", "printf", "ps", "rm",
	"route", "sed", "seq", "sh", "sha256sum", "sleep", "sort", "sync", "tail",
	"tar", "telnet", "test", "timeout", "top", "touch", "tr", "true", "uname", "uniq",
	"vi", "wc", "wget", "whoami", "xargs", "yes",
}

// Minimal account files: enough for `id`, `whoami` and `ls -l` to print
// names, and for a pod to run as nobody.
const (
	passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group  = "root:x:0:\nnogroup:x:65534:\n"
)

// debPath is where the busybox-static .deb for t is cached; images.mk and this
// program agree on it so make can download it ahead of time.
func debPath(cache string, t target) string {
	return filepath.Join(cache, t.Name, "busybox-static.deb")
}

// busyboxDebFor finds the busybox-static .deb for t: --busybox-deb, else
// the cache, downloading it there when allowed.
func busyboxDebFor(ctx context.Context, o options, t target) (string, error) {
	if o.busyboxDeb != "" {
		return o.busyboxDeb, nil
	}
	deb := debPath(o.cache, t)
	if o.download {
		if err := fetchDeb(ctx, "busybox-static:"+t.DebArch, deb); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(deb); err != nil {
		return "", fmt.Errorf("%w (make images-%s fetches it with scripts/deps.sh)", err, t.Name)
	}
	return deb, nil
}

// fetchDeb makes sure the .deb of pkg ("name" or "name:debarch") is at deb
// with a plain `apt-get download`, which finds a foreign architecture only
// where dpkg already knows it; make fetches the .debs beforehand with
// scripts/deps.sh instead.
func fetchDeb(ctx context.Context, pkg, deb string) error {
	if _, err := os.Stat(deb); err == nil {
		return nil
	}
	dir := filepath.Dir(deb)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "apt-get", "-qq", "-o", "APT::Sandbox::User=root", "download", pkg)
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %w\n%s(a foreign arch's .deb: make images-ARCH fetches it with scripts/deps.sh; else apt's lists may be stale: apt-get update)", pkg, err, b)
	}
	base, _, _ := strings.Cut(pkg, ":")
	got, err := filepath.Glob(filepath.Join(tmp, base+"_*.deb"))
	if err != nil || len(got) != 1 {
		return fmt.Errorf("apt-get download left %d .deb files in %s", len(got), tmp)
	}
	return os.Rename(got[0], deb)
}

// extractDeb unpacks the .deb into a fresh dir with dpkg-deb, which knows
// every compression Debian uses, and returns the package version.
func extractDeb(ctx context.Context, deb, dir string) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if b, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb -x %s: %w\n%s", deb, err, b)
	}
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-f", deb, "Version").Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-deb -f %s Version: %w", deb, err)
	}
	return strings.TrimSpace(string(out)), nil
}

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// upstreamVersion turns a Debian version such as "1:1.35.0-4+deb12u1+b1"
// into the upstream "1.35.0" used as the tag: the epoch and Debian revision
// describe packaging, not the busybox inside.
func upstreamVersion(debVersion string) (string, error) {
	v := debVersion
	if i := strings.Index(v, ":"); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndex(v, "-"); i >= 0 {
		v = v[:i]
	}
	v = tagUnsafe.ReplaceAllString(v, "_")
	if v == "" || v[0] == '.' || v[0] == '-' || len(v) > 128 {
		return "", fmt.Errorf("cannot make a tag from Debian version %q", debVersion)
	}
	return v, nil
}

// busyboxSpec is /bin/busybox, its applet links, and the few files and
// directories a shell session expects to find.
func busyboxSpec(bin, copyright []byte, version string) (spec, error) {
	if len(bin) == 0 {
		return spec{}, errors.New("busybox binary is empty")
	}
	entries := []entry{
		dir("bin", 0o755), dir("etc", 0o755), dir("root", 0o700), dir("tmp", 0o1777),
		dir("usr", 0o755), dir("usr/bin", 0o755),
		file("bin/busybox", 0o755, bin),
		file("etc/passwd", 0o644, []byte(passwd)),
		file("etc/group", 0o644, []byte(group)),
	}
	if len(copyright) > 0 {
		// busybox is GPL-2: ship its licence notice with the binary.
		entries = append(entries, dir("usr/share", 0o755), dir("usr/share/doc", 0o755),
			dir("usr/share/doc/busybox-static", 0o755),
			file("usr/share/doc/busybox-static/copyright", 0o644, copyright))
	}
	for _, a := range applets {
		entries = append(entries, symlink("bin/"+a, "busybox"))
	}
	ref, err := name.NewTag(busyboxRepo+":"+version, name.StrictValidation)
	if err != nil {
		return spec{}, err
	}
	return spec{
		Ref:       ref,
		Entries:   entries,
		Cmd:       []string{"sh"},
		Env:       []string{"PATH=/bin:/usr/bin"},
		CreatedBy: "kedge image-build: busybox " + version + " from Debian busybox-static",
	}, nil
}
