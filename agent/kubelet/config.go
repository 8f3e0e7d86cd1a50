package kubelet

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Options are the node-specific inputs of the kubelet's configuration.
type Options struct {
	ClientCAFile     string // CA that signs clients allowed to call the kubelet API
	TLSCertFile      string // kubelet serving certificate, signed by the cluster CA
	TLSKeyFile       string
	ContainerdSocket string
	ClusterDNS       []string
	ClusterDomain    string
	ResolvConf       string
	PodLogsDir       string
	StaticPodPath    string
	VolumePluginDir  string // flexvolume drivers; under the data dir, not /usr/libexec
	Cgroups          Cgroups
}

// Config returns the kubelet's configuration: authenticated API only,
// containerd over CRI, and defaults chosen for small nodes.
func Config(o Options) *kubeletv1beta1.KubeletConfiguration {
	return &kubeletv1beta1.KubeletConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration"},
		Authentication: kubeletv1beta1.KubeletAuthentication{
			X509:      kubeletv1beta1.KubeletX509Authentication{ClientCAFile: o.ClientCAFile},
			Webhook:   kubeletv1beta1.KubeletWebhookAuthentication{Enabled: ptr.To(true)},
			Anonymous: kubeletv1beta1.KubeletAnonymousAuthentication{Enabled: ptr.To(false)},
		},
		Authorization:            kubeletv1beta1.KubeletAuthorization{Mode: kubeletv1beta1.KubeletAuthorizationModeWebhook},
		TLSCertFile:              o.TLSCertFile,
		TLSPrivateKeyFile:        o.TLSKeyFile,
		ContainerRuntimeEndpoint: "unix://" + o.ContainerdSocket,
		CgroupDriver:             o.Cgroups.Driver,
		// cgroup v1 hosts (older Raspberry Pi OS, many edge images) still
		// work; kedge warns instead of refusing them.
		FailCgroupV1:    ptr.To(false),
		ClusterDNS:      o.ClusterDNS,
		ClusterDomain:   o.ClusterDomain,
		ResolverConfig:  ptr.To(o.ResolvConf),
		PodLogsDir:      o.PodLogsDir,
		StaticPodPath:   o.StaticPodPath,
		VolumePluginDir: o.VolumePluginDir,
		// Raspberry Pi OS and many edge images enable swap by default;
		// pods still get no swap (memorySwap NoSwap is the default).
		FailSwapOn: ptr.To(false),
		// The read-only port serves pod data unauthenticated.
		ReadOnlyPort:       0,
		HealthzBindAddress: "127.0.0.1",
		// Parallel pulls only matter with a registry; offline imports do
		// not pull, and serial pulls spare small SD cards.
		SerializeImagePulls: ptr.To(true),
		// Node status every 10 s is upstream's default; the lease carries
		// liveness, so the full status can be rarer and save writes.
		NodeStatusReportFrequency: metav1.Duration{Duration: 5 * time.Minute},
	}
}

// Render is Config as the YAML file the kubelet loads.
func Render(o Options) ([]byte, error) {
	data, err := yaml.Marshal(Config(o))
	if err != nil {
		return nil, fmt.Errorf("encoding kubelet configuration: %w", err)
	}
	return data, nil
}
