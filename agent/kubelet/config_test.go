package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/kubernetes/pkg/kubelet/apis/config/validation"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
	utilfs "k8s.io/kubernetes/pkg/util/filesystem"
)

func testOptions(dir string) Options {
	return Options{
		ClientCAFile:     filepath.Join(dir, "client-ca.crt"),
		TLSCertFile:      filepath.Join(dir, "serving-kubelet.crt"),
		TLSKeyFile:       filepath.Join(dir, "serving-kubelet.key"),
		ContainerdSocket: filepath.Join(dir, "containerd.sock"),
		ClusterDNS:       []string{"10.43.0.10"},
		ClusterDomain:    "cluster.local",
		ResolvConf:       filepath.Join(dir, "resolv.conf"),
		PodLogsDir:       filepath.Join(dir, "pods"),
		StaticPodPath:    filepath.Join(dir, "manifests"),
		Cgroups:          Cgroups{Driver: "cgroupfs"},
	}
}

// TestRenderLoadsAndValidates feeds the generated file through the
// kubelet's own loader and validation, as the kubelet will at start.
func TestRenderLoadsAndValidates(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	data, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubelet.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	loader, err := configfiles.NewFsLoader(&utilfs.DefaultFs{}, path)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := loader.Load(context.Background())
	if err != nil {
		t.Fatalf("kubelet cannot load its config: %v\n%s", err, data)
	}
	if err := validation.ValidateKubeletConfiguration(kc, utilfeature.DefaultFeatureGate); err != nil {
		t.Fatalf("kubelet rejects its config: %v\n%s", err, data)
	}
	checks := map[string][2]any{
		"anonymous auth":    {kc.Authentication.Anonymous.Enabled, false},
		"webhook authn":     {kc.Authentication.Webhook.Enabled, true},
		"client CA":         {kc.Authentication.X509.ClientCAFile, o.ClientCAFile},
		"authz mode":        {string(kc.Authorization.Mode), "Webhook"},
		"runtime endpoint":  {kc.ContainerRuntimeEndpoint, "unix://" + o.ContainerdSocket},
		"cgroup driver":     {kc.CgroupDriver, "cgroupfs"},
		"fail cgroup v1":    {kc.FailCgroupV1, false},
		"cluster DNS":       {kc.ClusterDNS, []string{"10.43.0.10"}},
		"read-only port":    {kc.ReadOnlyPort, int32(0)},
		"pod logs dir":      {kc.PodLogsDir, o.PodLogsDir},
		"serving cert":      {kc.TLSCertFile, o.TLSCertFile},
		"resolv.conf":       {kc.ResolverConfig, o.ResolvConf},
		"static pod path":   {kc.StaticPodPath, o.StaticPodPath},
		"healthz bind addr": {kc.HealthzBindAddress, "127.0.0.1"},
	}
	for name, c := range checks {
		if !reflect.DeepEqual(c[0], c[1]) {
			t.Errorf("%s: got %v, want %v", name, c[0], c[1])
		}
	}
}

func TestDetectCgroups(t *testing.T) {
	root := t.TempDir()
	if got := DetectCgroups(root); got != (Cgroups{Driver: "cgroupfs"}) {
		t.Fatalf("empty host: got %+v", got)
	}
	mkdir(t, filepath.Join(root, "sys/fs/cgroup"))
	if err := os.WriteFile(filepath.Join(root, "sys/fs/cgroup/cgroup.controllers"), []byte("cpu memory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mkdir(t, filepath.Join(root, "run/systemd/system"))
	if got := DetectCgroups(root); got != (Cgroups{V2: true, Driver: "systemd"}) {
		t.Fatalf("systemd + v2 host: got %+v", got)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}
