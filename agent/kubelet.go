package agent

import (
	"path/filepath"
	"strings"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/kubelet"
	"github.com/kedge-io/kedge/passthrough"
)

// newKubelet is the kubelet with its configuration file (written by its
// Init), kedge's flags and --kubelet-arg.
func newKubelet(node Node, cluster Cluster, creds Credentials) (*kubelet.Kubelet, error) {
	cgroups := kubelet.DetectCgroups("/")
	if !cgroups.V2 {
		klog.Warning("this host uses cgroup v1, which Kubernetes has deprecated; kedge allows it (failCgroupV1: false), but plan a move to cgroup v2")
	}
	l := node.Layout
	opts := kubelet.Options{
		ClientCAFile:     creds.ClientCA,
		TLSCertFile:      creds.ServingCert,
		TLSKeyFile:       creds.ServingKey,
		ContainerdSocket: l.ContainerdSocket(),
		ClusterDNS:       []string{cluster.ClusterDNS},
		ClusterDomain:    cluster.ClusterDomain,
		ResolvConf:       node.ResolvConf,
		PodLogsDir:       l.PodLogsDir(),
		StaticPodPath:    l.StaticPodsDir(),
		VolumePluginDir:  filepath.Join(l.KubeletDir(), "volume-plugins"),
		Cgroups:          cgroups,
	}
	args, err := passthrough.Merge(kubeletFlags(node, creds), node.KubeletArgs, "kubelet-arg")
	if err != nil {
		return nil, err
	}
	dirs := []string{l.KubeletDir(), l.PodLogsDir(), l.StaticPodsDir()}
	return kubelet.New(opts, l.KubeletConfig(), args, dirs), nil
}

// kubeletFlags are the settings that only exist as kubelet flags.
func kubeletFlags(node Node, creds Credentials) map[string]string {
	flags := map[string]string{
		"kubeconfig":        creds.Kubeconfig,
		"hostname-override": node.Name,
		"node-ip":           ipStrings(node.IPs),
		"root-dir":          node.Layout.KubeletDir(),
		"cert-dir":          filepath.Join(node.Layout.KubeletDir(), "pki"),
	}
	if len(node.NodeLabels) > 0 {
		flags["node-labels"] = strings.Join(node.NodeLabels, ",")
	}
	if len(node.NodeTaints) > 0 {
		flags["register-with-taints"] = strings.Join(node.NodeTaints, ",")
	}
	return flags
}
