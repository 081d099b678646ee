package rubysec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// Source is recorded on what the loader emits.
const Source = "rubysec"

const (
	maxFile    = 1 << 20
	maxDetails = 500
)

type loader struct {
	log     *slog.Logger
	skipped atomic.Int64
}

var _ feed.Loader = (*loader)(nil)

// Skipper is implemented by loaders that recognise files they deliberately
// do not import; Skipped counts them.
type Skipper interface{ Skipped() int }

// Advisories returns the RubySec loader; it also implements Skipper.
func Advisories(opts ...feed.LoaderOption) feed.Loader {
	return &loader{log: feed.ApplyLoaderOptions(opts...).Logger}
}

// Skipped is the number of interpreter (rubies/) advisories seen and skipped.
func (l *loader) Skipped() int { return int(l.skipped.Load()) }

type doc struct {
	Gem                string   `yaml:"gem"`
	Engine             string   `yaml:"engine"`
	CVE                string   `yaml:"cve"`
	GHSA               string   `yaml:"ghsa"`
	OSVDB              string   `yaml:"osvdb"`
	URL                string   `yaml:"url"`
	Title              string   `yaml:"title"`
	Date               string   `yaml:"date"`
	Description        string   `yaml:"description"`
	CVSSv2             *float64 `yaml:"cvss_v2"`
	CVSSv3             *float64 `yaml:"cvss_v3"`
	CVSSv4             *float64 `yaml:"cvss_v4"`
	PatchedVersions    []string `yaml:"patched_versions"`
	UnaffectedVersions []string `yaml:"unaffected_versions"`
	Related            struct {
		URL []string `yaml:"url"`
	} `yaml:"related"`
}

func (*loader) Name() string { return "rubysec" }

var (
	gemKey    = regexp.MustCompile(`(?m)^(gem|engine):\s*\S`)
	adviseKey = regexp.MustCompile(`(?m)^(patched_versions|unaffected_versions|cve|ghsa|osvdb|url|title):`)
)

func (*loader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n")
	if len(h) > 0 && (h[0] == '{' || h[0] == '[') {
		return false
	}
	return gemKey.Match(h) && adviseKey.Match(h) && !bytes.Contains(h, []byte("schema_version:")) && !bytes.Contains(h, []byte("\naffected:"))
}

func (l *loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return 0, fmt.Errorf("read rubysec advisory %s: %w", name, err)
	}
	if len(data) > maxFile {
		return 0, fmt.Errorf("read rubysec advisory %s: larger than %d bytes", name, maxFile)
	}
	var d doc
	if err := yaml.Unmarshal(data, &d); err != nil {
		return 0, fmt.Errorf("parse rubysec advisory %s: %w", name, err)
	}
	if d.Gem == "" {
		if d.Engine != "" {
			l.skipped.Add(1)
			l.log.Debug("rubysec: interpreter advisory skipped", "file", name, "engine", d.Engine)
			return 0, nil
		}
		return 0, fmt.Errorf("parse rubysec advisory %s: no gem", name)
	}
	v := vulnerability(d, name)
	if v.ID == "" {
		return 0, fmt.Errorf("parse rubysec advisory %s: no id", name)
	}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return 0, fmt.Errorf("store rubysec %s: %w", v.ID, err)
	}
	a := advisory.Affected{VulnID: v.ID, Ecosystem: advisory.EcoRubyGems, Package: strings.TrimSpace(d.Gem), Source: Source}
	for _, c := range append(append([]string(nil), d.PatchedVersions...), d.UnaffectedVersions...) {
		if c = strings.TrimSpace(c); c != "" {
			a.UnaffectedConstraints = append(a.UnaffectedConstraints, c)
		}
	}
	if len(a.UnaffectedConstraints) == 0 {
		a.Status = advisory.AffectedUnfixed // no patched version: all affected
	}
	if err := sink.PutAffected(ctx, a); err != nil {
		return 0, fmt.Errorf("store rubysec %s %s: %w", v.ID, a.Package, err)
	}
	return 1, nil
}

func vulnerability(d doc, name string) advisory.Vulnerability {
	var ids []string
	if c := strings.TrimSpace(d.CVE); c != "" {
		ids = append(ids, "CVE-"+strings.TrimPrefix(c, "CVE-"))
	}
	if g := strings.TrimSpace(d.GHSA); g != "" {
		ids = append(ids, "GHSA-"+strings.TrimPrefix(g, "GHSA-"))
	}
	if o := strings.TrimSpace(d.OSVDB); o != "" {
		ids = append(ids, "OSVDB-"+strings.TrimPrefix(o, "OSVDB-"))
	}
	if len(ids) == 0 {
		base := path.Base(strings.ReplaceAll(name, "\\", "/"))
		if id := strings.TrimSuffix(strings.TrimSuffix(base, ".yml"), ".yaml"); id != "" && id != "." && id != "/" {
			ids = append(ids, id)
		}
	}
	v := advisory.Vulnerability{Summary: strings.TrimSpace(d.Title), Details: trim(d.Description), Source: Source}
	if len(ids) == 0 {
		return v
	}
	v.ID = ids[0]
	if len(ids) > 1 {
		v.Aliases = ids[1:]
	}
	if u := strings.TrimSpace(d.URL); u != "" {
		v.References = append(v.References, u)
	}
	for _, u := range d.Related.URL {
		if u = strings.TrimSpace(u); u != "" && u != d.URL {
			v.References = append(v.References, u)
		}
	}
	if t, err := time.Parse("2006-01-02", strings.TrimSpace(d.Date)); err == nil {
		v.Published = t
	}
	// The feed gives scores only; the vector stays empty.
	for _, s := range []struct {
		ver   string
		score *float64
	}{{"4.0", d.CVSSv4}, {"3.x", d.CVSSv3}, {"2.0", d.CVSSv2}} {
		if s.score != nil && *s.score >= 0 && *s.score <= 10 {
			v.CVSS = append(v.CVSS, model.CVSS{Version: s.ver, Score: *s.score, Source: Source})
		}
	}
	if len(v.CVSS) > 0 {
		v.Severity = model.SeverityFromScore(v.CVSS[0].Score)
		v.SeveritySource = Source + " cvss_v" + strings.TrimSuffix(strings.TrimSuffix(v.CVSS[0].Version, ".x"), ".0") + " score " + strconv.FormatFloat(v.CVSS[0].Score, 'f', -1, 64)
	}
	return v
}

func trim(s string) string {
	return text.Truncate(strings.TrimSpace(s), maxDetails+len(text.Ellipsis))
}
