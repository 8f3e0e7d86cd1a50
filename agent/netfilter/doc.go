// Package netfilter decides whose iptables and nft a node's packet filtering
// runs with (docs/architecture.md, decision 9). kube-proxy and flannel run
// in kedge's process and containerd's CNI plugins in its children; all of
// them find the tools by name on PATH. The host's own tools win; the
// runtime bundle's (agent/bundle, netfilter/bin) are appended to PATH for
// hosts without them. The bundle's plain iptables runs the nf_tables or the
// legacy backend as KEDGE_IPTABLES_MODE says, which is set here to what the
// host already uses, so that kedge's rules never end up split from the
// host's across both backends.
package netfilter
