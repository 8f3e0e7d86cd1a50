// Package registries reads a node's registries.yaml (k3s's schema), checks
// it down to the line of every mistake, and renders it as containerd's
// certs.d hosts.toml files and CRI registry section. kedge owns only the
// hosts.toml files it generated; hand-written ones are checked and left alone.
package registries
