package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Formats Decode recognises.
const (
	FormatCycloneDX = "cyclonedx"
	FormatSPDX      = "spdx"
)

// DefaultMaxSize bounds the SBOM Decode reads: large images give SBOMs of a
// few tens of MiB.
const DefaultMaxSize = 256 << 20

// Document is the inventory an SBOM describes.
type Document struct {
	Format   string // "cyclonedx" | "spdx"
	Subject  model.ImageInfo
	Distro   *model.Distro
	Packages []model.Package
}

// ErrUnsupported is wrapped by errors for SBOMs in a format Decode does not
// read (XML, tag-value, unknown JSON).
var ErrUnsupported = errors.New("unsupported SBOM format")

// Option tunes Decode.
type Option func(*config)

type config struct {
	maxSize int64
}

// WithMaxSize changes the size limit (default DefaultMaxSize).
func WithMaxSize(n int64) Option { return func(c *config) { c.maxSize = n } }

// Decode reads a CycloneDX JSON or SPDX JSON document, telling them apart by
// content.
func Decode(r io.Reader, opts ...Option) (doc *Document, err error) {
	c := config{maxSize: DefaultMaxSize}
	for _, o := range opts {
		o(&c)
	}
	data, err := io.ReadAll(io.LimitReader(r, c.maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read sbom: %w", err)
	}
	if int64(len(data)) > c.maxSize {
		return nil, fmt.Errorf("read sbom: larger than %d bytes", c.maxSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	format, err := sniff(data)
	if err != nil {
		return nil, err
	}
	// The third-party decoders are not fuzzed by us; a panic on hostile
	// input must become an error, not take the process down.
	defer func() {
		if p := recover(); p != nil {
			doc, err = nil, fmt.Errorf("decode %s sbom: malformed document (%v)", format, p)
		}
	}()
	switch format {
	case FormatCycloneDX:
		doc, err = decodeCycloneDX(data)
	default:
		doc, err = decodeSPDX(data)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s sbom: %w", format, err)
	}
	return doc, nil
}

// sniff decides the format from the first bytes and the top-level keys.
func sniff(data []byte) (string, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return "", fmt.Errorf("%w: empty input", ErrUnsupported)
	case trimmed[0] == '<':
		return "", fmt.Errorf("%w: XML (CycloneDX XML or SPDX RDF) is not supported; produce JSON, e.g. `syft -o cyclonedx-json`", ErrUnsupported)
	case bytes.HasPrefix(trimmed, []byte("SPDXVersion:")) || bytes.Contains(firstLines(trimmed), []byte("SPDXVersion:")):
		return "", fmt.Errorf("%w: SPDX tag-value is not supported; produce SPDX JSON, e.g. `syft -o spdx-json`", ErrUnsupported)
	case trimmed[0] != '{':
		return "", fmt.Errorf("%w: not a JSON object (want CycloneDX JSON or SPDX JSON)", ErrUnsupported)
	}
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return "", fmt.Errorf("%w: invalid JSON: %v", ErrUnsupported, err)
	}
	switch {
	case strings.EqualFold(probe.BOMFormat, "CycloneDX"):
		return FormatCycloneDX, nil
	case strings.HasPrefix(probe.SPDXVersion, "SPDX-2."):
		return FormatSPDX, nil
	case strings.HasPrefix(probe.SPDXVersion, "SPDX-"):
		return "", fmt.Errorf("%w: %s (SPDX 2.x JSON is supported)", ErrUnsupported, probe.SPDXVersion)
	}
	return "", fmt.Errorf("%w: JSON without bomFormat \"CycloneDX\" or spdxVersion (want CycloneDX JSON or SPDX JSON)", ErrUnsupported)
}

func firstLines(b []byte) []byte {
	if len(b) > 1024 {
		b = b[:1024]
	}
	return b
}
