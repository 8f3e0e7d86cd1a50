package netfilter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// probeTimeout bounds each run of a tool here: a wedged one must not hang
// the start.
const probeTimeout = 30 * time.Second

// Tools is the part of a node that puts iptables and nft on PATH. It comes
// after the runtime bundle, which it needs unpacked, and before containerd,
// kube-proxy and flannel, which run the tools.
type Tools struct {
	bundleBin string // the bundle's netfilter/bin
	nftables  bool   // kube-proxy and flannel drive nft; iptables is used either way (CNI portmap)
	sys       system
}

// system is what Tools reads and changes of the host; tests replace it.
type system struct {
	lookPath func(file string) (string, error)
	run      func(ctx context.Context, name string, args ...string) ([]byte, error)
	getenv   func(key string) string
	setenv   func(key, value string) error
	procNet  string // /proc/net, which lists the legacy tables
	logf     func(format string, args ...any)
}

// New returns the part that uses the host's tools, else the bundle's in
// bundleBin; nftables says kube-proxy runs in nftables mode, so nft matters.
func New(bundleBin string, nftables bool) *Tools {
	return &Tools{bundleBin: bundleBin, nftables: nftables, sys: system{
		lookPath: exec.LookPath,
		run:      run,
		getenv:   os.Getenv,
		setenv:   os.Setenv,
		procNet:  "/proc/net",
		logf:     klog.Infof,
	}}
}

// Name implements component.Component.
func (t *Tools) Name() string { return "netfilter" }

// Init rejects a bad KEDGE_IPTABLES_MODE before anything starts.
func (t *Tools) Init(context.Context) error {
	_, err := t.modeOverride()
	return err
}

// Start settles which iptables and nft the node uses and logs them. It
// runs them, which Init may not, and so fails here when one cannot run.
func (t *Tools) Start(ctx context.Context) error {
	hostIptables, hostNFT := t.onHost("iptables"), t.onHost("nft")
	// Appended, so the host's tools keep winning for everything that looks
	// them up by name: kube-proxy and flannel in this process, and the CNI
	// plugins through containerd, whose environment is copied from kedge's
	// when it starts.
	if err := t.sys.setenv("PATH", appendDir(t.sys.getenv("PATH"), t.bundleBin)); err != nil {
		return fmt.Errorf("adding %s to PATH: %w", t.bundleBin, err)
	}
	if err := t.useIptables(ctx, hostIptables); err != nil {
		return err
	}
	if !t.nftables {
		return nil
	}
	_, err := t.use(ctx, "nft", hostNFT, "")
	return err
}

// Ready has nothing to watch: the choice is made once, at start.
func (t *Tools) Ready(context.Context) error { return nil }

// Stop has nothing to release.
func (t *Tools) Stop(context.Context) error { return nil }

// useIptables picks the iptables and sets ModeEnv, which the bundle's
// copies follow: the operator's value, else the host iptables' own
// backend (the bundle's ip6tables and the rest then match it should the
// host lack one), else what the host's rules use.
func (t *Tools) useIptables(ctx context.Context, host string) error {
	if host != "" {
		version, err := t.use(ctx, "iptables", host, "")
		if err != nil {
			return err
		}
		mode, err := t.modeOverride()
		if err != nil {
			return err
		}
		if mode == "" {
			mode = backendOf(version)
		}
		return t.setMode(mode)
	}
	mode, why, err := t.bundleMode(ctx)
	if err != nil {
		return err
	}
	// Before the bundle's iptables runs: it reads ModeEnv.
	if err := t.setMode(mode); err != nil {
		return err
	}
	_, err = t.use(ctx, "iptables", "", " (backend: "+why+")")
	return err
}

func (t *Tools) setMode(mode string) error {
	if err := t.sys.setenv(ModeEnv, mode); err != nil {
		return fmt.Errorf("setting %s: %w", ModeEnv, err)
	}
	return nil
}

// use runs the host's tool name at host, or the bundle's when host is "",
// with --version, logs which one the node uses and returns that version.
// why says more about a bundled one.
func (t *Tools) use(ctx context.Context, name, host, why string) (string, error) {
	if host != "" {
		version, err := t.version(ctx, host)
		if err != nil {
			return "", fmt.Errorf("the host's %s (%s) does not run: %w", name, host, err)
		}
		t.sys.logf("using the host's %s at %s", version, host)
		return version, nil
	}
	p := filepath.Join(t.bundleBin, name)
	version, err := t.version(ctx, p)
	if err != nil {
		return "", fmt.Errorf("kedge's bundled %s (%s) does not run: %w", name, p, err)
	}
	t.sys.logf("using kedge's bundled %s from %s: the host has no %s%s", version, t.bundleBin, name, why)
	return version, nil
}

// version is the first line tool --version prints, e.g.
// "iptables v1.8.9 (nf_tables)" or "nftables v1.0.6 (Lester Gooch #5)".
func (t *Tools) version(ctx context.Context, tool string) (string, error) {
	out, err := t.sys.run(ctx, tool, "--version")
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return "", errors.New("--version printed nothing")
	}
	return line, nil
}

// onHost is where the host's PATH has name, or "" when only the bundle has
// it (kedge may have been started with the bundle dir on PATH).
func (t *Tools) onHost(name string) string {
	p, err := t.sys.lookPath(name)
	if err != nil || filepath.Dir(p) == t.bundleBin {
		return ""
	}
	return p
}

// appendDir returns the PATH value path with dir last, unless it has dir.
func appendDir(path, dir string) string {
	for _, p := range filepath.SplitList(path) {
		if filepath.Clean(p) == dir {
			return path
		}
	}
	if path == "" {
		return dir
	}
	return path + string(os.PathListSeparator) + dir
}

// run runs a tool for its output, for at most probeTimeout; the error of a
// failed run has what the tool wrote to stderr.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(exit.Stderr))
	}
	return out, err
}
