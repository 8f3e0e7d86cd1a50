package netfilter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ModeEnv names the backend of the bundle's iptables, ip6tables and their
// -save and -restore (scripts/bundle/netfilter.c): NFT or Legacy. An
// operator may set it to override what Start would pick.
const ModeEnv = "KEDGE_IPTABLES_MODE"

// The backends ModeEnv names.
const (
	NFT    = "nft"
	Legacy = "legacy"
)

// modeOverride is the operator's ModeEnv, or "".
func (t *Tools) modeOverride() (string, error) {
	switch mode := t.sys.getenv(ModeEnv); mode {
	case "", NFT, Legacy:
		return mode, nil
	default:
		return "", fmt.Errorf("%s=%q: want %s or %s", ModeEnv, mode, NFT, Legacy)
	}
}

// bundleMode is the backend for the bundle's iptables on a host without
// its own, and why: the operator's choice, else legacy only when the
// host's legacy tables hold more rules than its nf_tables ones (k3s's
// iptables-detect compares the same counts). Rules there come from something that runs its own legacy
// iptables (a container, an earlier kedge in legacy mode); kube-proxy's
// and flannel's must go to the same backend, or packets would meet two
// rule sets that know nothing of each other.
func (t *Tools) bundleMode(ctx context.Context) (mode, why string, err error) {
	if mode, err := t.modeOverride(); mode != "" || err != nil {
		return mode, ModeEnv, err
	}
	exist, err := t.legacyTablesExist()
	if err != nil || !exist {
		return NFT, "no legacy tables on the host", err
	}
	legacy, err := t.rules(ctx, "iptables-legacy-save", "ip6tables-legacy-save")
	if err != nil {
		return "", "", err
	}
	nft, err := t.rules(ctx, "iptables-nft-save", "ip6tables-nft-save")
	if err != nil {
		return "", "", err
	}
	why = fmt.Sprintf("rules on the host: %d legacy, %d nf_tables", legacy, nft)
	if legacy > nft {
		return Legacy, why, nil
	}
	return NFT, why, nil
}

// legacyTablesExist reports whether a legacy iptables table was set up in
// this network namespace. The kernel sets one up only when a legacy tool
// first uses it, so on most hosts this spares running four -save tools at
// every start. A file that does not exist means legacy iptables is not in
// the kernel, or not loaded.
func (t *Tools) legacyTablesExist() (bool, error) {
	for _, name := range []string{"ip_tables_names", "ip6_tables_names"} {
		data, err := os.ReadFile(filepath.Join(t.sys.procNet, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return false, fmt.Errorf("looking for legacy iptables tables: %w", err)
		case len(bytes.TrimSpace(data)) > 0:
			return true, nil
		}
	}
	return false, nil
}

// rules counts the rules the bundle's save tools print.
func (t *Tools) rules(ctx context.Context, tools ...string) (int, error) {
	n := 0
	for _, tool := range tools {
		p := filepath.Join(t.bundleBin, tool)
		out, err := t.sys.run(ctx, p)
		if err != nil {
			return 0, fmt.Errorf("counting rules with kedge's bundled %s (%s): %w", tool, p, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "-A ") {
				n++
			}
		}
	}
	return n, nil
}

// backendOf is the backend an `iptables --version` line names; iptables
// before 1.8 had only legacy and does not say.
func backendOf(version string) string {
	if strings.Contains(version, "(nf_tables)") {
		return NFT
	}
	return Legacy
}
