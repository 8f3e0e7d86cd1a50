// Package deploy applies the manifests directory (<data-dir>/server/manifests)
// to the cluster with server-side apply, re-applies a file when its content
// changes, and deletes the objects of a file once the file is removed.
//
// What each file owns is kept in one ConfigMap per file in kube-system,
// labelled kedge.io/manifest-record=true, holding the file name, the sha256
// of the content last applied without error, and the objects applied from
// it. The record only ever grows until a pass applies the whole file, so a
// failed apply never loses track of an object; objects of a file that fails
// to parse are left alone. Records whose file is gone are cleaned up on
// every pass, including the first after a restart. An object that another
// file's record also lists is never deleted on behalf of this one.
//
// Each outcome is logged as "deploy: <Reason> <file>: <detail>" and
// recorded as an Event in kube-system with the message "<file>: <detail>";
// a failure only once per content of the file.
//
// A marker <name>.skip beside <name> hands the file to the operator: kedge
// neither applies nor deletes anything for it and leaves its record as it
// is, so removing the marker later resumes management where it stopped.
package deploy
