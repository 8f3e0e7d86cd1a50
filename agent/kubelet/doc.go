// Package kubelet generates the KubeletConfiguration kedge runs the
// embedded kubelet with, and detects the host's cgroup setup it depends on.
package kubelet
