// Package joinapi is the wire contract between an agent and a server's
// supervisor: the paths, the request and response types, and how a join
// token travels. Both sides import it, and it imports nothing of kedge's,
// so the agent never depends on server code.
package joinapi
