package report

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Format names an output format.
type Format string

const (
	FormatTable     Format = "table"
	FormatJSON      Format = "json"
	FormatSARIF     Format = "sarif"
	FormatCycloneDX Format = "cyclonedx"
	FormatSPDXJSON  Format = "spdx-json"
)

// Formats lists every format Write accepts, in the order help text shows them.
func Formats() []Format {
	return []Format{FormatTable, FormatJSON, FormatSARIF, FormatCycloneDX, FormatSPDXJSON}
}

// ParseFormat accepts a format name in any case, plus the common aliases
// other scanners use ("cyclonedx-json", "spdx").
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "table", "":
		return FormatTable, nil
	case "json":
		return FormatJSON, nil
	case "sarif":
		return FormatSARIF, nil
	case "cyclonedx", "cyclonedx-json", "cdx":
		return FormatCycloneDX, nil
	case "spdx-json", "spdx":
		return FormatSPDXJSON, nil
	}
	return "", fmt.Errorf("unknown output format %q (want one of table, json, sarif, cyclonedx, spdx-json)", s)
}

// Options are the knobs of Write; the zero value is fine.
type Options struct {
	// Color adds ANSI colours to the table format.
	Color bool
	// ToolVersion overrides r.Tool.Version in SARIF and SBOM tool metadata.
	ToolVersion string
	// Width is the terminal width the table aims for (default 100).
	Width int
}

// ErrNilReport is returned when there is nothing to render.
var ErrNilReport = errors.New("report is nil")

// Write renders r in format f. It never reorders r's slices: the pipeline
// sorts them, and golden tests rely on byte-stable output.
func Write(w io.Writer, f Format, r *model.Report, opts Options) error {
	if r == nil {
		return ErrNilReport
	}
	var err error
	switch f {
	case FormatJSON:
		err = writeJSON(w, r)
	case FormatTable:
		err = writeTable(w, r, opts)
	case FormatSARIF:
		err = writeSARIF(w, r, opts)
	case FormatCycloneDX:
		err = writeCycloneDX(w, r, opts, r.Findings != nil)
	case FormatSPDXJSON:
		err = writeSPDX(w, r, opts)
	default:
		return fmt.Errorf("write report: unknown format %q", f)
	}
	if err != nil {
		return fmt.Errorf("write %s report: %w", f, err)
	}
	return nil
}

// WriteSBOM renders only the inventory of r (no vulnerabilities) as
// CycloneDX or SPDX JSON, for `bulwark sbom`.
func WriteSBOM(w io.Writer, f Format, r *model.Report, opts Options) error {
	if r == nil {
		return ErrNilReport
	}
	var err error
	switch f {
	case FormatCycloneDX:
		err = writeCycloneDX(w, r, opts, false)
	case FormatSPDXJSON:
		err = writeSPDX(w, r, opts)
	default:
		return fmt.Errorf("write sbom: format %q is not an SBOM format (want cyclonedx or spdx-json)", f)
	}
	if err != nil {
		return fmt.Errorf("write %s sbom: %w", f, err)
	}
	return nil
}

func toolVersion(r *model.Report, opts Options) string {
	if opts.ToolVersion != "" {
		return opts.ToolVersion
	}
	if r.Tool.Version != "" {
		return r.Tool.Version
	}
	return "dev"
}

func toolName(r *model.Report) string {
	if r.Tool.Name != "" {
		return r.Tool.Name
	}
	return "bulwark"
}
