// Package tests holds kedge's end-to-end scenarios. They run the built
// binary (KEDGE_BIN) as real processes and need the e2e build tag, root,
// and a few Debian tools installed by `make deps`.
//
// The suites share one harness:
//
//   - node_test.go: node, one `kedge server` or `kedge agent` with its own
//     config file, data dir and run dir, either in a test network
//     namespace (package netns) or, for a control plane alone, on the
//     host's loopback. It starts, restarts and stops kedge, waits for log
//     lines, runs start-ups that must fail, and on cleanup kills kedge by
//     PID, logging the cluster's state if the test failed.
//   - nodeclient_test.go: what talks to a running node: a client-go
//     client, kubectl and crictl run where the node lives, node readiness.
//   - workload_test.go: busybox workloads (kedge.local/busybox, from the
//     node's own built-in registry or an imported archive, or an image of
//     a test registry), kubectl apply, and fetching a URL from inside a pod.
//   - registry_test.go: the site's registries, Debian's docker-registry run
//     in a test node with a test CA and htpasswd, and images pushed to it.
//   - host_test.go: the binary, commands on the host, test topologies.
//   - check_test.go: polling and checks on text.
//   - bench_test.go, procs_test.go: the benchmarks' tables and their look
//     at a node's processes.
package tests
