// Package dbartifact publishes the vulnerability DB as an OCI artifact and
// installs one from a registry, for air-gapped fleets: one machine with
// internet builds and pushes, every server and agent pulls from the site's
// own registry. The manifest carries the DB's digest, build time and
// sources as annotations, and an ed25519 signature over them when a key is
// given; Pull checks both before the DB is swapped in (vulndb.Install).
package dbartifact
