// Package nodehosts keeps the NodeHosts key of CoreDNS's ConfigMap equal to
// the cluster's nodes (one "IP name" line per address), so pods resolve
// node names the way hosts on the LAN do. It owns only that key, with its
// own server-side-apply field manager, beside the bundled manifest's keys.
package nodehosts
