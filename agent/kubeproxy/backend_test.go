package kubeproxy

import (
	"errors"
	"strings"
	"testing"
)

var errNotFound = errors.New("not found")

func fakePath(present ...string) func(string) (string, error) {
	return func(cmd string) (string, error) {
		for _, p := range present {
			if p == cmd {
				return "/usr/sbin/" + cmd, nil
			}
		}
		return "", errNotFound
	}
}

func TestCheckBackend(t *testing.T) {
	cases := []struct {
		mode    string
		present []string
		want    string // "" = no error
	}{
		{"iptables", []string{"iptables"}, ""},
		{"nftables", []string{"nft"}, ""},
		{"iptables", nil, "install the iptables package"},
		{"nftables", nil, "install the nftables package"},
		{"iptables", []string{"nft"}, "--kube-proxy-mode=nftables"},
		{"nftables", []string{"iptables"}, "--kube-proxy-mode=iptables"},
		{"ipvs", []string{"iptables"}, `--kube-proxy-mode "ipvs"`},
	}
	for _, c := range cases {
		err := CheckBackend(c.mode, fakePath(c.present...))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s with %v: unexpected %v", c.mode, c.present, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s with %v: got %v, want %q", c.mode, c.present, err, c.want)
		}
	}
}
