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
