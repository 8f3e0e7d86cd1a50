// Package nodeip picks the address a node announces to the cluster: the one
// the user gave, or the first address of the interface that carries the
// default route. Airgapped hosts often have no default route, so the error
// then tells the user to pass --node-ip.
package nodeip
