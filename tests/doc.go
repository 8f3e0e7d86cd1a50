// Package tests holds kedge's end-to-end scenarios. They run the built
// binary (KEDGE_BIN) as real processes and need the e2e build tag, root,
// and a few Debian tools installed by `make deps`.
package tests
