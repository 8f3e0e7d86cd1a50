// Package datastore runs kine in-process: it serves the etcd API the
// apiserver needs over a unix socket, backed by SQLite in the data dir by
// default or by the external database named in --datastore-endpoint.
package datastore
