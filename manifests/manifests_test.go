package manifests

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func testValues() Values {
	return Values{ClusterDNS: "10.43.0.10", ClusterDomain: "example.internal", StorageDir: "/data/storage", Images: DefaultImages()}
}

// objects decodes every document of a rendered manifest.
func objects(t *testing.T, name string) []*unstructured.Unstructured {
	t.Helper()
	data, err := Render(name, testValues())
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: document %d: %v", name, len(objs), err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, &u)
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func containers(t *testing.T, o *unstructured.Unstructured) []map[string]any {
	t.Helper()
	list, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, c := range list {
		out = append(out, c.(map[string]any))
	}
	return out
}

func TestRenderedObjectsAreComplete(t *testing.T) {
	im := DefaultImages()
	known := []string{im.CoreDNS, im.Traefik, im.LocalPath, im.MetricsServer, im.Busybox}
	for _, name := range Names {
		objs := objects(t, name)
		if len(objs) == 0 {
			t.Fatalf("%s: no objects", name)
		}
		for _, o := range objs {
			if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
				t.Errorf("%s: object without apiVersion, kind or name: %v", name, o.Object)
			}
			if o.GetKind() != "Deployment" {
				continue
			}
			if o.GetNamespace() != "kube-system" {
				t.Errorf("%s: Deployment %s in %q, want kube-system", name, o.GetName(), o.GetNamespace())
			}
			for _, c := range containers(t, o) {
				if !slices.Contains(known, c["image"].(string)) {
					t.Errorf("%s: image %v is not a bundled image", name, c["image"])
				}
				// Nothing may ever be pulled: the images come embedded.
				if c["imagePullPolicy"] != "IfNotPresent" {
					t.Errorf("%s: container %v has imagePullPolicy %v, want IfNotPresent", name, c["name"], c["imagePullPolicy"])
				}
			}
		}
	}
}

func TestCoreDNSUsesClusterSettings(t *testing.T) {
	objs := objects(t, CoreDNS)
	svc := find(objs, "Service", "kube-dns")
	if ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP"); ip != "10.43.0.10" {
		t.Errorf("kube-dns clusterIP %q, want 10.43.0.10", ip)
	}
	cm := find(objs, "ConfigMap", "coredns")
	corefile, _, _ := unstructured.NestedString(cm.Object, "data", "Corefile")
	if !strings.Contains(corefile, "kubernetes example.internal ") {
		t.Errorf("Corefile does not serve the cluster domain:\n%s", corefile)
	}
	// kedge's node-hosts controller owns this key; applying it here would
	// take it back on every re-apply.
	if _, ok, _ := unstructured.NestedString(cm.Object, "data", "NodeHosts"); ok {
		t.Error("the coredns ConfigMap manifest sets NodeHosts")
	}
}

func TestTraefikDoesNotCallHome(t *testing.T) {
	args, _, _ := unstructured.NestedStringSlice(containers(t, find(objects(t, Traefik), "Deployment", "traefik"))[0], "args")
	for _, want := range []string{"--global.checknewversion=false", "--global.sendanonymoususage=false"} {
		if !slices.Contains(args, want) {
			t.Errorf("traefik args lack %s: %v", want, args)
		}
	}
}

func TestLocalStorageUsesStorageDir(t *testing.T) {
	cm := find(objects(t, LocalStorage), "ConfigMap", "local-path-config")
	cfg, _, _ := unstructured.NestedString(cm.Object, "data", "config.json")
	if !strings.Contains(cfg, `"/data/storage"`) {
		t.Errorf("config.json does not use the storage dir: %s", cfg)
	}
}

func TestRenderUnknown(t *testing.T) {
	if _, err := Render("servicelb", testValues()); err == nil {
		t.Error("Render of a non-manifest component succeeded")
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	skipped := func(dir, file string) bool {
		_, err := os.Stat(filepath.Join(dir, file+".skip"))
		return err == nil
	}
	opts := Options{Dir: dir, Values: testValues(), Skipped: skipped}
	if err := Write(opts); err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		if _, err := os.Stat(filepath.Join(dir, FileName(name))); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}

	t.Run("unchanged files are not rewritten", func(t *testing.T) {
		path := filepath.Join(dir, FileName(CoreDNS))
		old := time.Unix(1000, 0)
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		if err := Write(opts); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); !fi.ModTime().Equal(old) {
			t.Errorf("coredns.yaml rewritten (mtime %s)", fi.ModTime())
		}
	})

	t.Run("skipped file is the operator's", func(t *testing.T) {
		path := filepath.Join(dir, FileName(Traefik))
		writeFile(t, path, "# mine\n")
		writeFile(t, path+".skip", "")
		opts := opts
		opts.Disabled = []string{Traefik}
		if err := Write(opts); err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(path); string(data) != "# mine\n" {
			t.Errorf("skipped traefik.yaml changed to %q", data)
		}
	})

	t.Run("disabled component is removed", func(t *testing.T) {
		opts := opts
		opts.Disabled = []string{MetricsServer}
		if err := Write(opts); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, FileName(MetricsServer))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("metrics-server.yaml still there: %v", err)
		}
	})
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
