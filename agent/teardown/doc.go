// Package teardown is `kedge killall`: it stops one node's containers and
// removes what they left on the host (mounts, network links, packet-filter
// rules) so the machine is as before kedge ran, touching only kedge's own
// state and never other services'. It runs after kedge itself has stopped.
package teardown
