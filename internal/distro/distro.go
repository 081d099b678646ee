// Package distro identifies the operating system of an image from
// os-release and the distributions' own release files, and knows when each
// release reaches end of life.
package distro

import "github.com/bulwarkdev/bulwark/internal/model"

// Wants reports whether path (relative to the root, no leading slash) is a
// file Detect reads.
func Wants(path string) bool {
	switch path {
	case "etc/os-release", "usr/lib/os-release":
		return true
	}
	return false
}

// Detect identifies the distribution from the final content of the wanted
// files (keys as Wants receives them). It returns nil when nothing is known.
func Detect(files map[string][]byte) (*model.Distro, error) {
	return nil, nil // TODO(ospkg owner): implement
}
