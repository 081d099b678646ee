package photon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const source = "photon"

type loader struct{}

// Loader returns the Photon OS CVE metadata loader.
func Loader() feed.Loader { return loader{} }

func (loader) Name() string { return source }

var fileRe = regexp.MustCompile(`^cve_data_photon(\d+\.\d+)\.json$`)

// release takes "x.tar.gz!dir/cve_data_photon5.0.json" to "5.0".
func release(name string) string {
	if i := strings.LastIndexByte(name, '!'); i >= 0 {
		name = name[i+1:]
	}
	if m := fileRe.FindStringSubmatch(path.Base(name)); m != nil {
		return m[1]
	}
	return ""
}

// Detect: the file name Photon publishes, holding a JSON array of rows.
func (loader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	return release(name) != "" && len(h) > 0 && h[0] == '[' && bytes.Contains(h, []byte(`"cve_id"`))
}

type row struct {
	CVEID    string  `json:"cve_id"`
	Pkg      string  `json:"pkg"`
	CVEScore float64 `json:"cve_score"`
	AffVer   string  `json:"aff_ver"`
	ResVer   string  `json:"res_ver"`
	Status   string  `json:"status"`
}

// Load streams the rows of one release's file.
func (loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	rel := release(name)
	if rel == "" {
		return 0, fmt.Errorf("photon %s: no release in the file name (want cve_data_photonX.Y.json)", name)
	}
	eco := "Photon OS:" + rel
	dec := json.NewDecoder(r)
	if err := feed.ExpectDelim(dec, '['); err != nil {
		return 0, fmt.Errorf("decode photon %s: %w", name, err)
	}
	n := 0
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var c row
		if err := dec.Decode(&c); err != nil {
			return n, fmt.Errorf("decode photon %s row %d: %w", name, n, err)
		}
		id, pkg := strings.TrimSpace(c.CVEID), strings.TrimSpace(c.Pkg)
		if id == "" || pkg == "" {
			continue
		}
		a := advisory.Affected{VulnID: id, Ecosystem: eco, Package: pkg, Source: source}
		if c.CVEScore > 0 && c.CVEScore <= 10 {
			a.Severity = model.SeverityFromScore(c.CVEScore)
		}
		fix := strings.TrimSpace(c.ResVer)
		switch {
		case strings.EqualFold(strings.TrimSpace(c.Status), "Not Affected"):
			a.Status = advisory.AffectedNot
		case fix == "" || strings.EqualFold(fix, "NA"):
			a.Status = advisory.AffectedUnfixed
		default:
			a.Ranges = []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fix}}}}
		}
		if err := sink.PutVulnerability(ctx, advisory.Vulnerability{ID: id, Source: source}); err != nil {
			return n, fmt.Errorf("store %s from %s: %w", id, name, err)
		}
		if err := sink.PutAffected(ctx, a); err != nil {
			return n, fmt.Errorf("store %s %s from %s: %w", id, pkg, name, err)
		}
		n++
	}
	if err := feed.ExpectDelim(dec, ']'); err != nil {
		return n, fmt.Errorf("decode photon %s end: %w", name, err)
	}
	return n, nil
}
