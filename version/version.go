package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and GitCommit are set by the Makefile with -ldflags -X.
var (
	Version   = "dev"
	GitCommit = "unknown"
)

// Kubernetes returns the version of the embedded k8s.io/kubernetes module,
// read from the build info so it can never drift from go.mod.
func Kubernetes() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/kubernetes" {
			return dep.Version
		}
	}
	return "unknown"
}

// String is the multi-line text printed by `kedge --version`.
func String() string {
	return fmt.Sprintf("kedge version %s (%s)\nkubernetes %s\ngo %s %s/%s\n",
		Version, GitCommit, Kubernetes(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
