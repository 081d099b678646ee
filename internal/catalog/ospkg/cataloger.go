package ospkg

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Option tunes a cataloger.
type Option func(*options)

type options struct {
	logger *slog.Logger
}

// WithLogger sets where skipped records are reported; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// cataloger adapts a path predicate and a byte parser to catalog.Cataloger.
type cataloger struct {
	name    string
	version int
	maxSize int64
	wants   func(path string) bool
	parse   func(ctx context.Context, f catalog.File, log *slog.Logger) ([]model.Package, error)
	log     *slog.Logger
}

func (c *cataloger) Name() string { return c.name }
func (c *cataloger) Version() int { return c.version }

func (c *cataloger) Wants(path string, mode fs.FileMode, size int64) bool {
	return mode.IsRegular() && size <= c.maxSize && c.wants(path)
}

func (c *cataloger) Parse(ctx context.Context, f catalog.File) ([]model.Package, error) {
	if int64(len(f.Data)) > c.maxSize {
		return nil, &tooLargeError{path: f.Path, size: int64(len(f.Data)), limit: c.maxSize}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pkgs, err := c.parse(ctx, f, c.log.With("cataloger", c.name, "path", f.Path))
	for i := range pkgs {
		pkgs[i].Cataloger = c.name
	}
	return pkgs, err
}
