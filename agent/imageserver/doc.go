// Package imageserver serves the system images built into kedge as a
// read-only OCI registry on a loopback port, so containerd pulls the
// kedge.local images a node runs instead of importing all of them at
// start. Blobs are read in place from the embedded OCI layout.
package imageserver
