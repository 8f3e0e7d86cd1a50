// Package informers gives the server's controllers one shared informer
// factory, so each kind of object is listed, watched and cached once however
// many controllers read it. The caches leave out what no controller reads,
// such as the image lists of Nodes, which matters on a board with 1 GiB.
package informers
