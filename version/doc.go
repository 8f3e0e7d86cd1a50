// Package version holds the kedge version stamped at build time and reports
// it together with the embedded Kubernetes and Go versions.
package version
