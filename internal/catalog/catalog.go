// Package catalog defines the seam between image access and the package
// catalogers: a cataloger says which files it wants by path, and turns one
// such file into packages. Catalogers never see a layer or a tar stream, so
// the same cataloger serves a registry image, a tarball, a directory or a
// test that hands it bytes.
package catalog

import (
	"context"
	"io/fs"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// File is one regular file an image (or directory) holds, read whole into
// memory by the caller within its size limits.
type File struct {
	// Path is clean, slash-separated and relative to the image root, without
	// a leading slash: "var/lib/dpkg/status".
	Path string
	Mode fs.FileMode
	Data []byte
}

// Cataloger finds packages in files.
type Cataloger interface {
	// Name is short and stable ("dpkg", "npm-lock"); it is stored in caches
	// and reports.
	Name() string
	// Version changes whenever Parse would give different results for the
	// same input, so cached per-layer results are recomputed.
	Version() int
	// Wants is called for every regular file of every layer and must be a
	// cheap, pure function of the path, mode and size.
	Wants(path string, mode fs.FileMode, size int64) bool
	// Parse decodes one wanted file. It returns (nil, nil) for a file that
	// turns out not to be its kind (an ELF that is not a Go binary). An
	// error marks only this file as unreadable; the scan goes on.
	// Packages' Path is left empty and the caller sets it to the file's path;
	// a cataloger that finds packages inside the file (nested jars) sets
	// Path to the inner location starting with "!" ("!BOOT-INF/lib/a.jar"),
	// and the caller prefixes the file's path.
	Parse(ctx context.Context, f File) ([]model.Package, error)
}

// Table is an ordered set of catalogers, validated at construction.
type Table struct {
	catalogers []Cataloger
}

// NewTable validates that names are unique and non-empty.
func NewTable(cs ...Cataloger) (*Table, error) {
	seen := map[string]bool{}
	for _, c := range cs {
		n := c.Name()
		if n == "" {
			return nil, errEmptyName
		}
		if seen[n] {
			return nil, &duplicateError{name: n}
		}
		seen[n] = true
	}
	return &Table{catalogers: append([]Cataloger(nil), cs...)}, nil
}

// Catalogers returns the table's catalogers in order.
func (t *Table) Catalogers() []Cataloger { return append([]Cataloger(nil), t.catalogers...) }

// Wanting returns the catalogers that want the file.
func (t *Table) Wanting(path string, mode fs.FileMode, size int64) []Cataloger {
	var out []Cataloger
	for _, c := range t.catalogers {
		if c.Wants(path, mode, size) {
			out = append(out, c)
		}
	}
	return out
}

// Fingerprint identifies the table's behaviour for cache keys.
func (t *Table) Fingerprint() string {
	s := ""
	for _, c := range t.catalogers {
		s += c.Name() + "@" + itoa(c.Version()) + ";"
	}
	return s
}
