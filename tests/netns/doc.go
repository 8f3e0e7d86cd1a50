// Package netns builds a private, offline test network for kedge's
// end-to-end tests: a bridge in the root network namespace and one network
// namespace per node, joined by veth pairs, with no default route out.
// Long-running node processes start with Node.Spawn, which adds a mount
// namespace that outlives them, and place their containers under
// Node.CgroupRoot. Everything it creates, and every process left in those
// mount namespaces and cgroups, is removed by t.Cleanup, also when a test
// fails.
package netns
