package deploy

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

var (
	nsDemo = objectRef{Version: "v1", Kind: "Namespace", Name: "demo"}
	cmOne  = objectRef{Version: "v1", Kind: "ConfigMap", Namespace: "demo", Name: "one"}
	cmTwo  = objectRef{Version: "v1", Kind: "ConfigMap", Namespace: "demo", Name: "two"}
	crd    = objectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}
	deploy = objectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "demo", Name: "web"}
)

func TestRecordRoundTrip(t *testing.T) {
	r := record{File: "Traefik Config.yaml", SHA256: strings.Repeat("ab", 32), Objects: []objectRef{nsDemo, deploy}}
	cm, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Namespace != "kube-system" || cm.Labels["kedge.io/manifest-record"] != "true" {
		t.Errorf("record stored at %s/%s with labels %v", cm.Namespace, cm.Name, cm.Labels)
	}
	if !strings.Contains(cm.Data["objects"], `"group": "apps"`) {
		t.Errorf("objects not readable JSON: %s", cm.Data["objects"])
	}
	got, err := decodeRecord(cm)
	if err != nil {
		t.Fatal(err)
	}
	if got.File != r.File || got.SHA256 != r.SHA256 || !slices.Equal(got.Objects, r.Objects) {
		t.Errorf("decoded %+v, want %+v", got, r)
	}
}

func TestDecodeRecordRejectsForeignConfigMap(t *testing.T) {
	cm, err := encodeRecord(record{File: "a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["file"] = "b.yaml"
	if _, err := decodeRecord(cm); err == nil {
		t.Error("record whose name does not match its file accepted")
	}
	cm.Data["file"], cm.Data["objects"] = "a.yaml", "{"
	if _, err := decodeRecord(cm); err == nil {
		t.Error("record with broken objects accepted")
	}
}

func TestRecordName(t *testing.T) {
	names := map[string]string{}
	for _, file := range []string{"traefik.yaml", "Traefik.yaml", "traefik.yml", "a_b.json", "a-b.json", strings.Repeat("x", 240) + ".yaml"} {
		name := recordName(file)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 || len(name) > 63 {
			t.Errorf("recordName(%q) = %q: %v", file, name, errs)
		}
		if other, ok := names[name]; ok {
			t.Errorf("%q and %q share the record %s", file, other, name)
		}
		names[name] = file
	}
	if got := recordName("traefik.yaml"); !strings.HasPrefix(got, "kedge-manifest-traefik-yaml-") {
		t.Errorf("recordName(traefik.yaml) = %q, want it readable", got)
	}
}

func TestUnion(t *testing.T) {
	newer := deploy
	newer.Version = "v2"
	got := union([]objectRef{nsDemo, deploy}, []objectRef{newer, cmOne, cmOne})
	want := []objectRef{nsDemo, newer, cmOne}
	if !slices.Equal(got, want) {
		t.Errorf("union = %v, want %v", got, want)
	}
}

func TestPrunable(t *testing.T) {
	moved := deploy
	moved.Version = "v1beta1"
	for _, tc := range []struct {
		name      string
		old, keep []objectRef
		claimed   []objectRef
		want      []objectRef
	}{
		{"nothing dropped", []objectRef{nsDemo, cmOne}, []objectRef{nsDemo, cmOne}, nil, nil},
		{"dropped object", []objectRef{nsDemo, cmOne, cmTwo}, []objectRef{nsDemo, cmOne}, nil, []objectRef{cmTwo}},
		{"new version is the same object", []objectRef{moved}, []objectRef{deploy}, nil, nil},
		{"claimed by another file", []objectRef{nsDemo, cmOne}, nil, []objectRef{nsDemo}, []objectRef{cmOne}},
		{"file emptied, deletion order", []objectRef{crd, nsDemo, cmOne, deploy}, nil, nil, []objectRef{cmOne, deploy, nsDemo, crd}},
	} {
		claimed := map[objectKey]bool{}
		for _, r := range tc.claimed {
			claimed[r.key()] = true
		}
		if got := prunable(tc.old, tc.keep, claimed); !slices.Equal(got, tc.want) {
			t.Errorf("%s: prunable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestObjectRefString(t *testing.T) {
	if got := deploy.String(); got != "apps/v1 Deployment demo/web" {
		t.Errorf("got %q", got)
	}
	if got := nsDemo.String(); got != "v1 Namespace demo" {
		t.Errorf("got %q", got)
	}
}
