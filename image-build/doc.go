// Command image-build builds kedge's system images (pause, busybox and the
// packaged components' CoreDNS, Traefik, local-path-provisioner and
// metrics-server) for amd64, arm64 and armv7, offline, as docker-archive
// tarballs and an OCI image layout tar of them all (the one kedge embeds).
// pause is compiled here from pause/pause.c, busybox comes from Debian's
// busybox-static package, the Go programs from programs/build.sh, and
// go-containerregistry assembles the images with fixed timestamps and
// owners so that every build gives the same digests. Its verify command
// checks an archive's images are all for one architecture and an OCI
// layout's blobs match their descriptors.
//
// It is a separate Go module so that its dependencies never enter kedge's
// own go.mod. Run it through image-build/images.mk (make images-amd64 ...),
// which installs the compilers and downloads the packages first, or see -h.
package main
