// Package rules holds Bulwark's built-in run-time detection rules (one YAML
// file per alert type) and named lists (lists/*.yaml), embedded in the
// binary. internal/runtime loads them; docs/runtime.md gives the format.
package rules

import "embed"

// FS holds *.yaml (rules) and lists/*.yaml (named lists).
//
//go:embed *.yaml lists/*.yaml
var FS embed.FS
