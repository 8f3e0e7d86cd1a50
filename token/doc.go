// Package token parses and formats join tokens, K10<CA hash>::<user>:<secret>
// like k3s's, and keeps extra bootstrap tokens as Kubernetes bootstrap-token
// Secrets. The CA hash lets an agent verify the server before sending it
// anything secret.
package token
