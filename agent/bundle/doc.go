// Package bundle ships the container runtime inside the kedge binary:
// containerd, its runc shim, runc, ctr, crictl and the CNI plugins in bin/,
// and Debian's iptables and nft with what they load in netfilter/, built by
// scripts/bundle for each GOARCH and embedded as a zstd-compressed tar.
// Unpack extracts it once per version to <data-dir>/data/<archive sha256>,
// so every node runs exactly the binaries its kedge was built with.
package bundle
