package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/kubelet"
	"github.com/kedge-io/kedge/atomicfile"
	"github.com/kedge-io/kedge/passthrough"
)

// newKubelet writes the kubelet's configuration file and builds the
// kubelet from it, kedge's flags and --kubelet-arg.
func newKubelet(ctx context.Context, cfg Config, paths Paths, node Node, cluster Cluster, creds Credentials) (*kubelet.Kubelet, error) {
	resolv, err := resolvConf(cfg.ResolvConf)
	if err != nil {
		return nil, err
	}
	cgroups := kubelet.DetectCgroups("/")
	if !cgroups.V2 {
		klog.Warning("this host uses cgroup v1, which Kubernetes has deprecated; kedge allows it (failCgroupV1: false), but plan a move to cgroup v2")
	}
	for _, dir := range []string{paths.KubeletDir(), paths.PodLogsDir(), paths.StaticPodsDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	data, err := kubelet.Render(kubelet.Options{
		ClientCAFile:     creds.ClientCA,
		TLSCertFile:      creds.ServingCert,
		TLSKeyFile:       creds.ServingKey,
		ContainerdSocket: paths.ContainerdSocket(),
		ClusterDNS:       []string{cluster.ClusterDNS},
		ClusterDomain:    cluster.ClusterDomain,
		ResolvConf:       resolv,
		PodLogsDir:       paths.PodLogsDir(),
		StaticPodPath:    paths.StaticPodsDir(),
		VolumePluginDir:  filepath.Join(paths.KubeletDir(), "volume-plugins"),
		Cgroups:          cgroups,
	})
	if err != nil {
		return nil, err
	}
	file := filepath.Join(paths.EtcDir(), "kubelet.yaml")
	if err := atomicfile.Write(file, data, 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", file, err)
	}
	args, err := passthrough.Merge(kubeletFlags(cfg, paths, node, creds), cfg.KubeletArgs, "kubelet-arg")
	if err != nil {
		return nil, err
	}
	return kubelet.New(ctx, file, args)
}

// kubeletFlags are the settings that only exist as kubelet flags.
func kubeletFlags(cfg Config, paths Paths, node Node, creds Credentials) map[string]string {
	flags := map[string]string{
		"kubeconfig":        creds.Kubeconfig,
		"hostname-override": node.Name,
		"node-ip":           ipStrings(node.IPs),
		"root-dir":          paths.KubeletDir(),
		"cert-dir":          filepath.Join(paths.KubeletDir(), "pki"),
	}
	if len(cfg.NodeLabels) > 0 {
		flags["node-labels"] = strings.Join(cfg.NodeLabels, ",")
	}
	if len(cfg.NodeTaints) > 0 {
		flags["register-with-taints"] = strings.Join(cfg.NodeTaints, ",")
	}
	return flags
}

// resolvConf picks the file pods with host DNS get. systemd-resolved's
// /etc/resolv.conf lists only its 127.0.0.53 stub, which a pod cannot
// reach; its upstream list is used instead.
func resolvConf(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	const etc, resolved = "/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"
	data, err := os.ReadFile(etc)
	if err != nil {
		return "", fmt.Errorf("reading %s (or pass --resolv-conf): %w", etc, err)
	}
	if onlyLoopbackNameservers(string(data)) {
		if _, err := os.Stat(resolved); err == nil {
			return resolved, nil
		}
		klog.Warningf("%s lists only loopback nameservers, which pods cannot reach; pass --resolv-conf", etc)
	}
	return etc, nil
}

func onlyLoopbackNameservers(text string) bool {
	found := false
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		found = true
		if ip := net.ParseIP(fields[1]); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return found
}
