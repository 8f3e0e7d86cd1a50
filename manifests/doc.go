// Package manifests holds the packaged components kedge deploys on a
// server (CoreDNS, Traefik, local-path storage, metrics-server) as YAML
// templates embedded in the binary, and writes them, rendered for this
// cluster, into the manifests directory that server/deploy applies.
package manifests
