// Package netns builds a private, offline test network for kedge's
// end-to-end tests: a bridge in the root network namespace and one network
// namespace per node, joined by veth pairs, with no default route out.
// Everything it creates is removed by t.Cleanup, also when a test fails.
package netns
