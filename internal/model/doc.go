// Package model holds the result vocabulary every Bulwark capability reports
// in: packages, vulnerability findings, resources and assessments. The JSON
// shape is documented in docs/schema.md and is stable: change it by adding
// fields, never by renaming them.
package model

// SchemaVersion is written into every JSON document Bulwark emits.
const SchemaVersion = "1"
