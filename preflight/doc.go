// Package preflight is `kedge check-config`: it reads the kernel config and
// the running system and reports, group by group, what would stop kedge
// from running on this machine, as ok, warn and fail lines.
package preflight
