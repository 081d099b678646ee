// Package osv loads OSV advisories, as JSON (one object or an array) or as
// the YAML the PyPA advisory database writes.
package osv
