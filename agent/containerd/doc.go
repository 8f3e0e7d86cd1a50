// Package containerd runs the bundled containerd as a child process of kedge:
// it renders containerd's config (or the user's config.toml.tmpl), picks a
// snapshotter the backing filesystem supports, and restarts containerd with
// backoff when it dies.
package containerd
