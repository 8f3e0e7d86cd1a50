// Package servicelb gives LoadBalancer Services the addresses of the cluster's
// ready nodes, so kube-proxy serves them on node-IP:port without extra pods.
// Two Services asking for the same port and protocol cannot share the nodes:
// the older one keeps the port and the younger one stays pending with an Event.
package servicelb
