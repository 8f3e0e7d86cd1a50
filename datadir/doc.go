// Package datadir claims a node's data directory: it checks that it can
// be written and holds an flock on <dir>/kedge.pid while kedge runs, so a
// second kedge on the same directory stops with the first one's pid.
package datadir
