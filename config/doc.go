// Package config lets every kedge command-line flag also be given as a
// KEDGE_<FLAG> environment variable or as a key of a YAML config file plus
// its <file>.d/*.yaml drop-ins. The command line wins over the environment,
// which wins over the files; later drop-ins win over earlier ones key by key.
package config
