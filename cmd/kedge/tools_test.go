package main

import (
	"reflect"
	"testing"

	"github.com/kedge-io/kedge/datadir"
)

func TestCtrArgsAddHostsDir(t *testing.T) {
	p := datadir.Layout{DataDir: "/d", RunDir: "/r"}
	dir := p.RegistryHostsDir()
	for _, tt := range []struct{ in, want []string }{
		{[]string{"images", "pull", "x:1"}, []string{"images", "pull", "--hosts-dir", dir, "x:1"}},
		{[]string{"-n", "k8s.io", "i", "pull", "--user", "u", "x"}, []string{"-n", "k8s.io", "i", "pull", "--hosts-dir", dir, "--user", "u", "x"}},
		{[]string{"content", "fetch", "x"}, []string{"content", "fetch", "--hosts-dir", dir, "x"}},
		{[]string{"images", "pull", "--hosts-dir=/mine", "x"}, []string{"images", "pull", "--hosts-dir=/mine", "x"}},
		{[]string{"images", "ls"}, []string{"images", "ls"}},
		{[]string{"containers", "ls"}, []string{"containers", "ls"}},
	} {
		if got := ctrArgs(p, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ctrArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
