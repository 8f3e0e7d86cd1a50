// Package kubeconfig writes kubeconfig files with the CA, client certificate
// and key embedded, so a copied file keeps working on another machine.
// Writes are atomic and skipped when nothing changed, so restarts do not wear
// out SD cards.
package kubeconfig
