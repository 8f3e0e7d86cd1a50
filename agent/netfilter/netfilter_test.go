package netfilter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	bundleBin = "/data/0123/netfilter/bin"
	hostPATH  = "/usr/sbin:/usr/bin"
)

// fakeHost is the host a test's Tools sees.
type fakeHost struct {
	path map[string]string // tool name -> where the host's PATH has it
	out  map[string]string // command line -> what it prints; others fail
	env  map[string]string
	proc map[string]string // files in /proc/net
	ran  []string
	logs []string
}

// bundledVersion is what the bundle's iptables --version prints in mode.
var bundledVersion = map[string]string{NFT: "iptables v1.8.9 (nf_tables)\n", Legacy: "iptables v1.8.9 (legacy)\n"}

func (h *fakeHost) tools(t *testing.T, nftables bool) *Tools {
	t.Helper()
	procNet := t.TempDir()
	for name, content := range h.proc {
		if err := os.WriteFile(filepath.Join(procNet, name), []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if h.env == nil {
		h.env = map[string]string{}
	}
	if _, ok := h.env["PATH"]; !ok {
		h.env["PATH"] = hostPATH
	}
	return &Tools{bundleBin: bundleBin, nftables: nftables, sys: system{
		lookPath: func(file string) (string, error) {
			if p, ok := h.path[file]; ok {
				return p, nil
			}
			return "", fmt.Errorf("exec: %q: not found", file)
		},
		run:     h.run,
		getenv:  func(k string) string { return h.env[k] },
		setenv:  func(k, v string) error { h.env[k] = v; return nil },
		procNet: procNet,
		logf:    func(format string, args ...any) { h.logs = append(h.logs, fmt.Sprintf(format, args...)) },
	}}
}

func (h *fakeHost) run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	h.ran = append(h.ran, line)
	if line == bundleBin+"/iptables --version" {
		return []byte(bundledVersion[h.env[ModeEnv]]), nil
	}
	if out, ok := h.out[line]; ok {
		return []byte(out), nil
	}
	return nil, errors.New("exit status 1: boom")
}

const (
	legacySave = "*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\n-A KUBE-FIREWALL -s 192.0.2.1/32 -j DROP\nCOMMIT\n"
	nftSave    = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.42.0.0/16 -j MASQUERADE\nCOMMIT\n"
)

// saves are the bundle's four -save tools printing legacy and nft.
func saves(legacy, nft string) map[string]string {
	return map[string]string{
		bundleBin + "/iptables-legacy-save":  legacy,
		bundleBin + "/ip6tables-legacy-save": "",
		bundleBin + "/iptables-nft-save":     nft,
		bundleBin + "/ip6tables-nft-save":    "",
	}
}

func TestStart(t *testing.T) {
	bundled := "using kedge's bundled iptables v1.8.9 (%s) from " + bundleBin + ": the host has no iptables (backend: %s)"
	legacyTables := map[string]string{"ip_tables_names": "filter\n"}
	tests := []struct {
		name     string
		nftables bool
		host     fakeHost
		mode     string   // ModeEnv afterwards
		path     string   // PATH afterwards; "" is the host's with the bundle last
		logs     []string // all of them
		ran      int      // commands run
	}{
		{
			name: "host iptables nf_tables",
			host: fakeHost{
				path: map[string]string{"iptables": "/usr/sbin/iptables"},
				out:  map[string]string{"/usr/sbin/iptables --version": "iptables v1.8.9 (nf_tables)\n"},
			},
			mode: NFT, logs: []string{"using the host's iptables v1.8.9 (nf_tables) at /usr/sbin/iptables"}, ran: 1,
		},
		{
			name: "host iptables legacy",
			host: fakeHost{
				path: map[string]string{"iptables": "/sbin/iptables"},
				out:  map[string]string{"/sbin/iptables --version": "iptables v1.8.7 (legacy)\n"},
			},
			mode: Legacy, logs: []string{"using the host's iptables v1.8.7 (legacy) at /sbin/iptables"}, ran: 1,
		},
		{
			name: "host iptables before 1.8",
			host: fakeHost{
				path: map[string]string{"iptables": "/sbin/iptables"},
				out:  map[string]string{"/sbin/iptables --version": "iptables v1.6.1\n"},
			},
			mode: Legacy, logs: []string{"using the host's iptables v1.6.1 at /sbin/iptables"}, ran: 1,
		},
		{
			name: "operator's mode beats the host iptables' own",
			host: fakeHost{
				path: map[string]string{"iptables": "/usr/sbin/iptables"},
				out:  map[string]string{"/usr/sbin/iptables --version": "iptables v1.8.9 (nf_tables)\n"},
				env:  map[string]string{ModeEnv: Legacy},
			},
			mode: Legacy, logs: []string{"using the host's iptables v1.8.9 (nf_tables) at /usr/sbin/iptables"}, ran: 1,
		},
		{
			name: "no host iptables, no legacy tables",
			host: fakeHost{},
			mode: NFT, logs: []string{fmt.Sprintf(bundled, "nf_tables", "no legacy tables on the host")}, ran: 1,
		},
		{
			name: "no host iptables, empty legacy table lists",
			host: fakeHost{proc: map[string]string{"ip_tables_names": "", "ip6_tables_names": "\n"}},
			mode: NFT, logs: []string{fmt.Sprintf(bundled, "nf_tables", "no legacy tables on the host")}, ran: 1,
		},
		{
			name: "legacy rules outnumber nf_tables ones",
			host: fakeHost{proc: legacyTables, out: saves(legacySave, nftSave)},
			mode: Legacy, logs: []string{fmt.Sprintf(bundled, "legacy", "rules on the host: 2 legacy, 1 nf_tables")}, ran: 5,
		},
		{
			name: "legacy tables without more rules",
			host: fakeHost{proc: map[string]string{"ip6_tables_names": "filter\n"}, out: saves(":INPUT ACCEPT [0:0]\n", "")},
			mode: NFT, logs: []string{fmt.Sprintf(bundled, "nf_tables", "rules on the host: 0 legacy, 0 nf_tables")}, ran: 5,
		},
		{
			name: "operator's mode skips the rule count",
			host: fakeHost{proc: legacyTables, env: map[string]string{ModeEnv: NFT}},
			mode: NFT, logs: []string{fmt.Sprintf(bundled, "nf_tables", ModeEnv)}, ran: 1,
		},
		{
			name: "bundle dir already on PATH is not the host",
			host: fakeHost{
				path: map[string]string{"iptables": bundleBin + "/iptables"},
				env:  map[string]string{"PATH": bundleBin + ":" + hostPATH},
			},
			mode: NFT, path: bundleBin + ":" + hostPATH, logs: []string{fmt.Sprintf(bundled, "nf_tables", "no legacy tables on the host")}, ran: 1,
		},
		{
			name:     "nftables mode, host has neither",
			nftables: true,
			host:     fakeHost{out: map[string]string{bundleBin + "/nft --version": "nftables v1.0.6 (Lester Gooch #5)\n"}},
			mode:     NFT,
			logs: []string{
				fmt.Sprintf(bundled, "nf_tables", "no legacy tables on the host"),
				"using kedge's bundled nftables v1.0.6 (Lester Gooch #5) from " + bundleBin + ": the host has no nft",
			},
			ran: 2,
		},
		{
			name:     "nftables mode, host has nft only",
			nftables: true,
			host: fakeHost{
				path: map[string]string{"nft": "/usr/sbin/nft"},
				out:  map[string]string{"/usr/sbin/nft --version": "nftables v1.0.9 (Old Doc Yak #3)\n"},
			},
			mode: NFT,
			logs: []string{
				fmt.Sprintf(bundled, "nf_tables", "no legacy tables on the host"),
				"using the host's nftables v1.0.9 (Old Doc Yak #3) at /usr/sbin/nft",
			},
			ran: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.host
			tools := h.tools(t, tt.nftables)
			if err := tools.Init(context.Background()); err != nil {
				t.Fatalf("Init: %v", err)
			}
			if err := tools.Start(context.Background()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if got := h.env[ModeEnv]; got != tt.mode {
				t.Errorf("%s=%q, want %q", ModeEnv, got, tt.mode)
			}
			want := tt.path
			if want == "" {
				want = hostPATH + ":" + bundleBin
			}
			if h.env["PATH"] != want {
				t.Errorf("PATH=%q, want %q", h.env["PATH"], want)
			}
			if !slices.Equal(h.logs, tt.logs) {
				t.Errorf("logged\n  %s\nwant\n  %s", strings.Join(h.logs, "\n  "), strings.Join(tt.logs, "\n  "))
			}
			if len(h.ran) != tt.ran {
				t.Errorf("ran %q, want %d commands", h.ran, tt.ran)
			}
		})
	}
}

func TestStartFails(t *testing.T) {
	tests := []struct {
		name string
		host fakeHost
		want string
	}{
		{
			name: "host iptables does not run",
			host: fakeHost{path: map[string]string{"iptables": "/usr/sbin/iptables"}},
			want: "the host's iptables (/usr/sbin/iptables) does not run: exit status 1: boom",
		},
		{
			name: "bundled legacy save does not run",
			host: fakeHost{proc: map[string]string{"ip_tables_names": "nat\n"}},
			want: "counting rules with kedge's bundled iptables-legacy-save (" + bundleBin + "/iptables-legacy-save): exit status 1: boom",
		},
		{
			name: "bundled nft does not run",
			host: fakeHost{},
			want: "kedge's bundled nft (" + bundleBin + "/nft) does not run: exit status 1: boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.host
			err := h.tools(t, true).Start(context.Background())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Start: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBadModeFailsInit(t *testing.T) {
	h := fakeHost{env: map[string]string{ModeEnv: "nf_tables"}}
	err := h.tools(t, false).Init(context.Background())
	if want := `KEDGE_IPTABLES_MODE="nf_tables": want nft or legacy`; err == nil || err.Error() != want {
		t.Fatalf("Init: %v, want %q", err, want)
	}
}

func TestUnreadableLegacyTableList(t *testing.T) {
	h := fakeHost{}
	tools := h.tools(t, false)
	if err := os.Mkdir(filepath.Join(tools.sys.procNet, "ip_tables_names"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := tools.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "looking for legacy iptables tables") {
		t.Fatalf("Start: %v, want the /proc/net read error", err)
	}
}

func TestAppendDir(t *testing.T) {
	for path, want := range map[string]string{
		"":                            "/b",
		"/usr/bin:/bin":               "/usr/bin:/bin:/b",
		"/b:/usr/bin":                 "/b:/usr/bin",
		"/usr/bin:/b/":                "/usr/bin:/b/",
		"/usr/bin:/bin:/b:/usr/sbin/": "/usr/bin:/bin:/b:/usr/sbin/",
	} {
		if got := appendDir(path, "/b"); got != want {
			t.Errorf("appendDir(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestBackendOf(t *testing.T) {
	want := map[string]string{
		"iptables v1.8.9 (nf_tables)": NFT,
		"iptables v1.8.9 (legacy)":    Legacy,
		"iptables v1.4.21":            Legacy,
	}
	for _, version := range slices.Sorted(maps.Keys(want)) {
		if got := backendOf(version); got != want[version] {
			t.Errorf("backendOf(%q) = %s, want %s", version, got, want[version])
		}
	}
}
