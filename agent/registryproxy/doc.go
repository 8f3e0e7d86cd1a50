// Package registryproxy serves, on a loopback port, the registry mirrors
// whose repositories registries.yaml rewrites. containerd's hosts.toml has
// no rewrite rule, so such a mirror's endpoints are listed as this proxy,
// which renames the repository and fetches from the real endpoint with the
// endpoint's TLS settings and credentials.
package registryproxy
