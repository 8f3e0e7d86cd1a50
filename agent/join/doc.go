// Package join turns a server URL and a join token into the files an agent
// runs on: the cluster CA, certificates for keys generated on this node,
// and kubeconfigs pointing at the agent's local load balancer. A node that
// already holds valid certificates starts from them without the server.
package join
