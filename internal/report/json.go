package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// MaxJSONSize bounds ReadJSON: a report of a very large image is tens of MiB.
const MaxJSONSize = 512 << 20

// writeJSON is json.MarshalIndent's output, but without HTML escaping so that
// "<" in a title stays readable; map keys are sorted by encoding/json, so the
// bytes are stable for a given report.
func writeJSON(w io.Writer, r *model.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ReadJSON reads a report written by the json format, so that it can be
// rendered again in another format.
func ReadJSON(rd io.Reader) (*model.Report, error) {
	lr := &io.LimitedReader{R: rd, N: MaxJSONSize + 1}
	dec := json.NewDecoder(lr)
	var r model.Report
	if err := dec.Decode(&r); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("read json report: larger than %d bytes", MaxJSONSize)
		}
		return nil, fmt.Errorf("read json report: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if lr.N <= 0 {
			return nil, fmt.Errorf("read json report: larger than %d bytes", MaxJSONSize)
		}
		return nil, errors.New("read json report: trailing data after the document")
	}
	if r.SchemaVersion == "" {
		return nil, errors.New("read json report: no schema_version: not a Bulwark report")
	}
	if major(r.SchemaVersion) != major(model.SchemaVersion) {
		return nil, fmt.Errorf("read json report: schema_version %q is not supported (this build reads %s)", r.SchemaVersion, model.SchemaVersion)
	}
	return &r, nil
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}
