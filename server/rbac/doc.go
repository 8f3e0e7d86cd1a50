// Package rbac keeps the cluster roles of kedge's own identities in place.
// Upstream components come with bootstrap roles; flannel does not, so the
// server applies its role and binding each time it starts.
package rbac
