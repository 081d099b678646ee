//go:build !(isal && cgo)

package image

import (
	"io"

	"github.com/klauspost/compress/gzip"
)

// gzipDecoder names the decoder in use, for the benchmark script.
const gzipDecoder = "klauspost"

func newGzipReader(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }
