// Package images imports image archives (docker-archive or OCI layout, as
// .tar, .tar.gz or .tar.zst) into containerd's k8s.io namespace, so a node
// runs pods with no registry at all: the pause image and, in a kedge built
// with -tags embedimages, every system image are built into the binary.
// Each archive is imported once, keyed by its digest; a corrupt one is
// reported by name and the others still import.
package images
