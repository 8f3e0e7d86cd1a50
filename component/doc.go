// Package component defines the lifecycle every long-running part of kedge
// shares, and a Manager that starts an ordered list of them and stops them in
// reverse. The server and the agent are each such a list.
package component
