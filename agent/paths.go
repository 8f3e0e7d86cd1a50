package agent

import "path/filepath"

// Default locations; --data-dir and --run-dir move them so two nodes can
// share a host in tests.
const (
	DefaultDataDir = "/var/lib/kedge"
	DefaultRunDir  = "/run/kedge"
)

// Paths derives every agent path from the data and run dirs.
type Paths struct {
	DataDir string
	RunDir  string
}

// ContainerdRoot holds images, snapshots and containerd's config and log.
func (p Paths) ContainerdRoot() string { return filepath.Join(p.DataDir, "agent", "containerd") }

// ContainerdState is containerd's runtime state dir, holding its socket.
func (p Paths) ContainerdState() string { return filepath.Join(p.RunDir, "containerd") }

// ContainerdSocket is where containerd serves gRPC (and CRI).
func (p Paths) ContainerdSocket() string {
	return filepath.Join(p.ContainerdState(), "containerd.sock")
}

// ImportedState records the digests of archives already imported.
func (p Paths) ImportedState() string {
	return filepath.Join(p.DataDir, "agent", "images-imported.json")
}

// ImagesDir holds archives imported at every start.
func (p Paths) ImagesDir() string { return filepath.Join(p.DataDir, "agent", "images") }

// KubeletDir is the kubelet's root dir: pod volumes, plugins, checkpoints.
func (p Paths) KubeletDir() string { return filepath.Join(p.DataDir, "agent", "kubelet") }

// PodLogsDir holds container logs, read by `kubectl logs`.
func (p Paths) PodLogsDir() string { return filepath.Join(p.DataDir, "agent", "pod-logs") }

// StaticPodsDir holds pod manifests the kubelet runs without the apiserver.
func (p Paths) StaticPodsDir() string { return filepath.Join(p.DataDir, "agent", "pod-manifests") }

// EtcDir holds the generated configuration of the node's components.
func (p Paths) EtcDir() string { return filepath.Join(p.DataDir, "agent", "etc") }

// CNIConfDir is where the pod network's CNI configuration is written.
func (p Paths) CNIConfDir() string { return filepath.Join(p.EtcDir(), "cni", "net.d") }
