// Package distro identifies the operating system of an image from
// os-release and the distributions' own release files, and knows when each
// release reaches end of life.
package distro
