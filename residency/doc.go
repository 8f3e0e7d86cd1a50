// Package residency gives back the memory pages of large data built into
// the kedge binary (the runtime bundle, the system images) once a start-up
// step has read it, so a node's idle RSS does not carry archives it will
// not read again until the next start.
package residency
