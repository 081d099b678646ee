package lang

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/package-url/packageurl-go"
)

// maxManifestSize bounds the text manifests and lock files the catalogers
// accept; real lock files stay far below it, and anything larger is more
// likely hostile than useful.
const maxManifestSize = 64 << 20

// cataloger is the one concrete Cataloger of this package: each constructor
// fills in its name, version, path test and parser.
type cataloger struct {
	name    string
	version int
	wants   func(p string, mode fs.FileMode, size int64) bool
	parse   func(ctx context.Context, f catalog.File) ([]model.Package, error)
}

func (c *cataloger) Name() string { return c.name }
func (c *cataloger) Version() int { return c.version }
func (c *cataloger) Wants(p string, mode fs.FileMode, size int64) bool {
	return c.wants(p, mode, size)
}

func (c *cataloger) Parse(ctx context.Context, f catalog.File) ([]model.Package, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pkgs, err := c.safeParse(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("%s: parse %s: %w", c.name, f.Path, err)
	}
	for i := range pkgs {
		pkgs[i].Cataloger = c.name
	}
	return pkgs, nil
}

// safeParse turns a panic in a parser (ours or a standard-library decoder
// fed hostile bytes) into an error for this one file.
func (c *cataloger) safeParse(ctx context.Context, f catalog.File) (pkgs []model.Package, err error) {
	defer func() {
		if r := recover(); r != nil {
			pkgs, err = nil, fmt.Errorf("parser panic: %v", r)
		}
	}()
	return c.parse(ctx, f)
}

// manifestWants is the Wants of a text-file cataloger: a name test and the
// size bound.
func manifestWants(match func(p string) bool) func(string, fs.FileMode, int64) bool {
	return func(p string, _ fs.FileMode, size int64) bool {
		return size > 0 && size <= maxManifestSize && match(p)
	}
}

// checkSize rejects oversized input that reached Parse directly (tests,
// other callers) rather than through Wants.
func checkSize(f catalog.File) error {
	if len(f.Data) > maxManifestSize {
		return fmt.Errorf("file is %d bytes, over the %d byte limit", len(f.Data), maxManifestSize)
	}
	return nil
}

// purl renders a package URL; an empty version is left out.
func purl(typ, namespace, name, version string) string {
	return packageurl.NewPackageURL(typ, namespace, name, version, nil, "").ToString()
}

// base is path.Base without allocating for the common case.
func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// parentName is the parent directory's own name ("a/b/c" → "b").
func parentName(p string) string {
	return base(path.Dir(p))
}

// nonEmpty keeps the non-blank strings, trimmed.
func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
