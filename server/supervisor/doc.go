// Package supervisor is the join API agents use before they have any
// credentials. It shares the apiserver's port, authenticates callers by
// join token, hands out the cluster's CA and settings, and signs the
// certificates an agent needs for keys the agent generated itself.
package supervisor
