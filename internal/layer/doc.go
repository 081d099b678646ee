// Package layer walks one image layer's tar stream safely: it never extracts
// to disk, never follows links, and bounds the work a hostile layer can cause.
package layer
