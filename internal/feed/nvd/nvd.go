package nvd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/text"
	"io"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/cvss"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const (
	source        = "nvd"
	maxSummary    = 500
	maxReferences = 10
)

type loader struct{}

// Loader returns the NVD loader.
func Loader() feed.Loader { return loader{} }

func (loader) Name() string { return "nvd" }

// Detect recognises the legacy feed by "CVE_Items"/"CVE_data_type" and an
// API 2.0 page by its "resultsPerPage" or "NVD_CVE" format next to
// "vulnerabilities".
func (loader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(h) == 0 || h[0] != '{' || bytes.Contains(h, []byte(`"$schema"`)) {
		return false
	}
	if bytes.Contains(h, []byte(`"CVE_Items"`)) || bytes.Contains(h, []byte(`"CVE_data_type"`)) {
		return true
	}
	return bytes.Contains(h, []byte(`"vulnerabilities"`)) &&
		(bytes.Contains(h, []byte(`"resultsPerPage"`)) || bytes.Contains(h, []byte(`"NVD_CVE"`)))
}

// Load streams the CVE list so a whole-year feed never sits in memory.
func (loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	dec := json.NewDecoder(r)
	if err := feed.ExpectDelim(dec, '{'); err != nil {
		return 0, fmt.Errorf("decode NVD %s: %w", name, err)
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n, fmt.Errorf("decode NVD %s: %w", name, err)
		}
		key, _ := tok.(string)
		switch key {
		case "CVE_Items", "vulnerabilities":
			k, err := loadList(ctx, dec, key == "CVE_Items", sink)
			n += k
			if err != nil {
				return n, fmt.Errorf("decode NVD %s %s: %w", name, key, err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return n, fmt.Errorf("decode NVD %s %s: %w", name, key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return n, fmt.Errorf("decode NVD %s end: %w", name, err)
	}
	return n, nil
}

func loadList(ctx context.Context, dec *json.Decoder, legacy bool, sink advisory.Sink) (int, error) {
	if err := feed.ExpectDelim(dec, '['); err != nil {
		return 0, err
	}
	n := 0
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var (
			v   advisory.Vulnerability
			err error
		)
		if legacy {
			var it legacyItem
			if err = dec.Decode(&it); err != nil {
				return n, fmt.Errorf("item %d: %w", n, err)
			}
			v = it.convert()
		} else {
			var it apiItem
			if err = dec.Decode(&it); err != nil {
				return n, fmt.Errorf("item %d: %w", n, err)
			}
			v = it.CVE.convert()
		}
		if !strings.HasPrefix(v.ID, "CVE-") {
			continue // a record without a CVE id enriches nothing
		}
		if err := sink.PutVulnerability(ctx, v); err != nil {
			return n, fmt.Errorf("store %s: %w", v.ID, err)
		}
		n++
	}
	return n, feed.ExpectDelim(dec, ']')
}

type langString struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

// Legacy JSON 1.1 feed.
type legacyItem struct {
	CVE struct {
		Meta struct {
			ID string `json:"ID"`
		} `json:"CVE_data_meta"`
		References struct {
			Data []struct {
				URL string `json:"url"`
			} `json:"reference_data"`
		} `json:"references"`
		Description struct {
			Data []langString `json:"description_data"`
		} `json:"description"`
	} `json:"cve"`
	Impact struct {
		V3 *struct {
			CVSS metric `json:"cvssV3"`
		} `json:"baseMetricV3"`
		V2 *struct {
			CVSS metric `json:"cvssV2"`
		} `json:"baseMetricV2"`
	} `json:"impact"`
	Published    string `json:"publishedDate"`
	LastModified string `json:"lastModifiedDate"`
}

type metric struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
}

func (it *legacyItem) convert() advisory.Vulnerability {
	v := advisory.Vulnerability{
		ID:        strings.TrimSpace(it.CVE.Meta.ID),
		Summary:   english(it.CVE.Description.Data),
		Published: parseTime(it.Published),
		Modified:  parseTime(it.LastModified),
		Source:    source,
	}
	for _, r := range it.CVE.References.Data {
		v.References = addRef(v.References, r.URL)
	}
	if it.Impact.V3 != nil {
		v.CVSS = addCVSS(v.CVSS, it.Impact.V3.CVSS)
	}
	if it.Impact.V2 != nil {
		v.CVSS = addCVSS(v.CVSS, it.Impact.V2.CVSS)
	}
	return v
}

// API 2.0 page.
type apiItem struct {
	CVE apiCVE `json:"cve"`
}

type apiCVE struct {
	ID           string       `json:"id"`
	Published    string       `json:"published"`
	LastModified string       `json:"lastModified"`
	Descriptions []langString `json:"descriptions"`
	References   []struct {
		URL string `json:"url"`
	} `json:"references"`
	Metrics struct {
		V40 []apiMetric `json:"cvssMetricV40"`
		V31 []apiMetric `json:"cvssMetricV31"`
		V30 []apiMetric `json:"cvssMetricV30"`
		V2  []apiMetric `json:"cvssMetricV2"`
	} `json:"metrics"`
}

type apiMetric struct {
	Type string `json:"type"` // Primary (NVD's own) or Secondary (the CNA's)
	Data metric `json:"cvssData"`
}

func (c *apiCVE) convert() advisory.Vulnerability {
	v := advisory.Vulnerability{
		ID:        strings.TrimSpace(c.ID),
		Summary:   english(c.Descriptions),
		Published: parseTime(c.Published),
		Modified:  parseTime(c.LastModified),
		Source:    source,
	}
	for _, r := range c.References {
		v.References = addRef(v.References, r.URL)
	}
	// Newest CVSS version first: consumers that show one rating take the first.
	for _, ms := range [][]apiMetric{c.Metrics.V40, c.Metrics.V31, c.Metrics.V30, c.Metrics.V2} {
		for _, m := range ms {
			v.CVSS = addCVSS(v.CVSS, m.Data)
		}
	}
	return v
}

func addCVSS(dst []model.CVSS, m metric) []model.CVSS {
	vec := strings.TrimSpace(m.VectorString)
	if vec == "" {
		return dst
	}
	c, err := cvss.Score(vec)
	if err != nil {
		// Keep NVD's own figures for a vector the scorer rejects.
		c = model.CVSS{Version: m.Version, Vector: vec, Score: m.BaseScore}
	} else if m.BaseScore > 0 {
		c.Score = m.BaseScore
	}
	c.Source = source
	for _, d := range dst {
		if d.Vector == c.Vector {
			return dst
		}
	}
	return append(dst, c)
}

func addRef(refs []string, u string) []string {
	u = strings.TrimSpace(u)
	if u == "" || len(refs) >= maxReferences {
		return refs
	}
	for _, r := range refs {
		if r == u {
			return refs
		}
	}
	return append(refs, u)
}

func english(ds []langString) string {
	for _, d := range ds {
		if d.Lang == "en" {
			return text.Truncate(strings.Join(strings.Fields(d.Value), " "), maxSummary)
		}
	}
	if len(ds) > 0 {
		return text.Truncate(strings.Join(strings.Fields(ds[0].Value), " "), maxSummary)
	}
	return ""
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
