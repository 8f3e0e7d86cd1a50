package cni

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	o := Options{PodCIDR: "10.42.3.0/24", MTU: 1450, NetworksDir: "/var/lib/kedge/agent/cni/networks"}
	if err := Write(dir, o); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type string `json:"type"`
			MTU  int    `json:"mtu"`
			IPAM struct {
				Type    string `json:"type"`
				DataDir string `json:"dataDir"`
				Ranges  [][]struct {
					Subnet  string `json:"subnet"`
					Gateway string `json:"gateway"`
				} `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(data, &conf); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var types []string
	for _, p := range conf.Plugins {
		types = append(types, p.Type)
	}
	if strings.Join(types, ",") != "bridge,portmap,bandwidth" {
		t.Fatalf("plugin chain %v", types)
	}
	br := conf.Plugins[0]
	if br.MTU != 1450 || br.IPAM.Type != "host-local" || br.IPAM.DataDir != "/var/lib/kedge/agent/cni/networks" {
		t.Fatalf("bridge: %+v", br)
	}
	if r := br.IPAM.Ranges[0][0]; r.Subnet != "10.42.3.0/24" || r.Gateway != "10.42.3.1" {
		t.Fatalf("range: %+v", r)
	}
}

func TestRenderRejectsBadCIDR(t *testing.T) {
	if _, err := Render(Options{PodCIDR: "10.42.3.0"}); err == nil || !strings.Contains(err.Error(), "pod CIDR") {
		t.Fatalf("got %v", err)
	}
}
