// Package pki creates the cluster's certificate authorities, service-account
// key and component certificates on first start, and keeps them usable on
// later starts. Authorities and the service-account key are never replaced
// once they exist; leaf certificates are reissued when they are missing,
// stale, near expiry or lack a required name.
package pki
