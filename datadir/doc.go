// Package datadir is kedge's on-disk layout: every path below --data-dir
// and --run-dir comes from Layout, and Claim holds an flock on a node's
// part of the data dir while kedge runs, so a second kedge on the same
// directory stops with the first one's pid.
package datadir
