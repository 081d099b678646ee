// Package feed imports vulnerability data: it walks folders and archives,
// recognizes each file's format by its content, and hands it to the loader
// for that format. Loaders live in subpackages (feed/osv, feed/debian, …)
// and the table of all of them in feed/feeds.
package feed

import (
	"context"
	"io"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

// Loader reads one feed format.
type Loader interface {
	// Name is short and stable ("osv", "debian-dsa-list"); reports use it.
	Name() string
	// Detect looks at a file's name (for an archive member:
	// "archive.tar.gz!dir/member.json") and its first bytes (up to 8 KiB,
	// already decompressed when the file itself is .gz) and says whether
	// this loader reads it. It must be cheap and pure.
	Detect(name string, head []byte) bool
	// Load reads one file and writes what it finds to sink. It returns the
	// number of records (advisories) it loaded. A malformed file is an
	// error for that file only.
	Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error)
}
