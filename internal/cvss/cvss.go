package cvss

import (
	"errors"
	"fmt"
	"math"
	"strings"

	cvss20 "github.com/pandatix/go-cvss/20"
	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"

	"github.com/bulwarkdev/bulwark/internal/model"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// maxVector bounds the input: real vectors are under 200 bytes, and the
// parsers allocate per metric.
const maxVector = 512

// ErrEmpty is returned for an empty vector.
var ErrEmpty = errors.New("empty CVSS vector")

// Score parses vector and returns its version, canonical vector and base
// score. Version 2 vectors are accepted bare ("AV:N/AC:L/…"), with a
// "CVSS:2.0/" prefix, or in parentheses as some feeds write them.
func Score(vector string) (model.CVSS, error) {
	v := strings.TrimSpace(vector)
	if v == "" {
		return model.CVSS{}, ErrEmpty
	}
	if len(v) > maxVector {
		return model.CVSS{}, fmt.Errorf("parse CVSS vector: %d bytes exceeds %d", len(v), maxVector)
	}
	var (
		out model.CVSS
		err error
	)
	switch {
	case strings.HasPrefix(v, "CVSS:4.0/"):
		var c *cvss40.CVSS40
		if c, err = cvss40.ParseVector(v); err == nil {
			out = model.CVSS{Version: "4.0", Vector: c.Vector(), Score: c.Score()}
		}
	case strings.HasPrefix(v, "CVSS:3.1/"):
		var c *cvss31.CVSS31
		if c, err = cvss31.ParseVector(v); err == nil {
			out = model.CVSS{Version: "3.1", Vector: c.Vector(), Score: c.BaseScore()}
		}
	case strings.HasPrefix(v, "CVSS:3.0/"):
		var c *cvss30.CVSS30
		if c, err = cvss30.ParseVector(v); err == nil {
			out = model.CVSS{Version: "3.0", Vector: c.Vector(), Score: c.BaseScore()}
		}
	case strings.HasPrefix(v, "CVSS:") && !strings.HasPrefix(v, "CVSS:2.0/"):
		return model.CVSS{}, fmt.Errorf("parse CVSS vector %q: unsupported version", short(v))
	default:
		bare := strings.TrimSuffix(strings.TrimPrefix(v, "("), ")")
		bare = strings.TrimPrefix(bare, "CVSS:2.0/")
		var c *cvss20.CVSS20
		if c, err = cvss20.ParseVector(bare); err == nil {
			out = model.CVSS{Version: "2.0", Vector: c.Vector(), Score: c.BaseScore()}
		}
	}
	if err != nil {
		return model.CVSS{}, fmt.Errorf("parse CVSS vector %q: %w", short(v), err)
	}
	if math.IsNaN(out.Score) || out.Score < 0 || out.Score > 10 {
		return model.CVSS{}, fmt.Errorf("score CVSS vector %q: score %v out of range", short(v), out.Score)
	}
	return out, nil
}

// Severity is the NVD rating of a scored vector.
func Severity(c model.CVSS) model.Severity { return model.SeverityFromScore(c.Score) }

func short(s string) string { return text.Truncate(s, 80+len(text.Ellipsis)) }
