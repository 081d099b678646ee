package feed

import "log/slog"

// LoaderOption tunes a loader; every loader constructor takes them.
type LoaderOption func(*LoaderConfig)

// LoaderConfig is what LoaderOptions set.
type LoaderConfig struct {
	// Logger receives notes about skipped entries; default discards.
	Logger *slog.Logger
}

// WithLogger sets the logger for skipped entries.
func WithLogger(l *slog.Logger) LoaderOption {
	return func(c *LoaderConfig) {
		if l != nil {
			c.Logger = l
		}
	}
}

// ApplyLoaderOptions returns the configuration the options describe.
func ApplyLoaderOptions(opts ...LoaderOption) LoaderConfig {
	c := LoaderConfig{Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	return c
}
