// Command kedge is a single-binary Kubernetes distribution for the edge.
// This package only wires cobra commands to the packages that do the work.
package main

import (
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
