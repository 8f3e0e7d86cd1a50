// Package agent holds what every node runs beside its workloads; this file
// set fixes where the node's runtime files live, so `kedge server`,
// `kedge agent` and the `kedge ctr`/`crictl`/`images` tools agree on them.
package agent
