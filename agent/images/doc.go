// Package images imports image archives (docker-archive or OCI layout, as
// .tar, .tar.gz or .tar.zst) into containerd's k8s.io namespace: the pause
// image built into kedge, which every pod needs first, and the node's
// images dir, so a node runs pods with no registry at all. Each archive is
// imported once, keyed by its digest; a corrupt one is reported by name and
// the others still import.
package images
