// Package status lets a running kedge tell how it is: the phase of its
// start-up and the health of each component, served as JSON on a unix
// socket in the run dir, for `kedge status`, service managers and the
// install scripts.
package status
