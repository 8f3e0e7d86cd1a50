// Package dtype tells whether a filesystem records file types in its
// directory entries (d_type). overlayfs needs them: on XFS made with
// ftype=0 it corrupts image layers without an error, so containerd's
// snapshotter choice and `kedge check-config` both ask this package.
package dtype
