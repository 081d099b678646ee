package nodesec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// Source is recorded on what the loader emits.
const Source = "nodejs-security-wg"

const (
	maxFile    = 1 << 20
	maxIndex   = 64 << 20
	maxDetails = 500
)

// Skipper is implemented by the loader: Skipped counts all recognised but
// skipped files, SkippedCore the Node.js runtime advisories among them.
type Skipper interface {
	Skipped() int
	SkippedCore() int
}

// NPM returns the loader; it also implements Skipper.
func NPM(opts ...feed.LoaderOption) feed.Loader {
	return &loader{log: feed.ApplyLoaderOptions(opts...).Logger}
}

type loader struct {
	log     *slog.Logger
	skipped atomic.Int64
	core    atomic.Int64
}

func (l *loader) Skipped() int     { return int(l.skipped.Load()) }
func (l *loader) SkippedCore() int { return int(l.core.Load()) }

type npmDoc struct {
	ID                 json.Number `json:"id"`
	Title              string      `json:"title"`
	Overview           string      `json:"overview"`
	CreatedAt          string      `json:"created_at"`
	UpdatedAt          string      `json:"updated_at"`
	PublishDate        string      `json:"publish_date"`
	ModuleName         string      `json:"module_name"`
	CVEs               []string    `json:"cves"`
	VulnerableVersions string      `json:"vulnerable_versions"`
	PatchedVersions    string      `json:"patched_versions"`
	CVSSVector         string      `json:"cvss_vector"`
	CVSSScore          *float64    `json:"cvss_score"`
	References         []string    `json:"references"`

	// Core (runtime) advisories.
	Vulnerable *string `json:"vulnerable"`
	Patched    *string `json:"patched"`
}

func (*loader) Name() string { return "nodejs-security-wg" }

var indexHead = regexp.MustCompile(`^\{\s*"\d+"\s*:\s*\{`)

func (*loader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n")
	if len(h) == 0 || h[0] != '{' || bytes.Contains(h, []byte(`"schema_version"`)) || bytes.Contains(h, []byte(`"affected"`)) {
		return false
	}
	if bytes.Contains(h, []byte(`"module_name"`)) && bytes.Contains(h, []byte(`"vulnerable_versions"`)) {
		return true
	}
	// Core advisories: {"cve": [...], "vulnerable": "...", "patched": "..."}.
	if bytes.Contains(h, []byte(`"vulnerable"`)) && bytes.Contains(h, []byte(`"patched"`)) && bytes.Contains(h, []byte(`"cve"`)) {
		return true
	}
	return indexHead.Match(h) && strings.Contains(name, "vuln/")
}

func (l *loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxIndex+1))
	if err != nil {
		return 0, fmt.Errorf("read nodejs advisory %s: %w", name, err)
	}
	trim := bytes.TrimLeft(data, " \t\r\n")
	if indexHead.Match(trim) {
		l.skipped.Add(1)
		l.log.Debug("nodejs advisories: index roll-up skipped", "file", name)
		return 0, nil
	}
	if len(data) > maxFile {
		return 0, fmt.Errorf("read nodejs advisory %s: larger than %d bytes", name, maxFile)
	}
	var d npmDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return 0, fmt.Errorf("parse nodejs advisory %s: %w", name, err)
	}
	if d.ModuleName == "" {
		if d.Vulnerable != nil || d.Patched != nil {
			l.skipped.Add(1)
			l.core.Add(1)
			l.log.Debug("nodejs advisories: runtime advisory skipped", "file", name)
			return 0, nil
		}
		return 0, fmt.Errorf("parse nodejs advisory %s: no module_name", name)
	}
	v := vulnerability(d)
	if v.ID == "" {
		return 0, fmt.Errorf("parse nodejs advisory %s: no id or CVE", name)
	}
	a := advisory.Affected{VulnID: v.ID, Ecosystem: advisory.EcoNPM, Package: strings.TrimSpace(d.ModuleName), Source: Source}
	vuln, patched := strings.TrimSpace(d.VulnerableVersions), strings.TrimSpace(d.PatchedVersions)
	switch {
	case vuln != "":
		a.AffectedConstraints = []string{vuln}
	case patched != "":
		a.UnaffectedConstraints = []string{patched}
	default:
		return 0, fmt.Errorf("parse nodejs advisory %s: neither vulnerable_versions nor patched_versions", name)
	}
	if patched != "" {
		a.Note = "patched versions: " + patched
	} else {
		a.Status = advisory.AffectedUnfixed
		a.Note = "no patched version"
	}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return 0, fmt.Errorf("store nodejs %s: %w", v.ID, err)
	}
	if err := sink.PutAffected(ctx, a); err != nil {
		return 0, fmt.Errorf("store nodejs %s %s: %w", v.ID, a.Package, err)
	}
	return 1, nil
}

func vulnerability(d npmDoc) advisory.Vulnerability {
	var ids []string
	for _, c := range d.CVEs {
		if c = strings.TrimSpace(c); c != "" {
			ids = append(ids, c)
		}
	}
	if id := strings.TrimSpace(d.ID.String()); id != "" {
		ids = append(ids, "NSWG-ECO-"+id)
	}
	v := advisory.Vulnerability{Summary: strings.TrimSpace(d.Title), Details: trim(d.Overview), Source: Source}
	if len(ids) == 0 {
		return v
	}
	v.ID = ids[0]
	if len(ids) > 1 {
		v.Aliases = ids[1:]
	}
	for _, r := range d.References {
		if r = strings.TrimSpace(r); r != "" {
			v.References = append(v.References, r)
		}
	}
	for _, s := range []string{d.PublishDate, d.CreatedAt} {
		if t, ok := parseDate(s); ok {
			v.Published = t
			break
		}
	}
	if t, ok := parseDate(d.UpdatedAt); ok {
		v.Modified = t
	}
	vec := strings.TrimSpace(d.CVSSVector)
	if vec != "" || d.CVSSScore != nil {
		c := model.CVSS{Vector: vec, Version: cvssVersion(vec), Source: Source}
		if d.CVSSScore != nil && *d.CVSSScore >= 0 && *d.CVSSScore <= 10 {
			c.Score = *d.CVSSScore
			v.Severity = model.SeverityFromScore(c.Score)
			v.SeveritySource = Source + " cvss_score " + strconv.FormatFloat(c.Score, 'f', -1, 64)
		}
		v.CVSS = []model.CVSS{c}
	}
	return v
}

// cvssVersion reads the version from a "CVSS:3.0/…" prefix; a bare vector
// ("AV:N/AC:L/…") is CVSS v2; none is unknown.
func cvssVersion(vec string) string {
	if rest, ok := strings.CutPrefix(vec, "CVSS:"); ok {
		v, _, _ := strings.Cut(rest, "/")
		return v
	}
	if strings.HasPrefix(vec, "AV:") {
		return "2.0"
	}
	return ""
}

func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func trim(s string) string {
	return text.Truncate(strings.TrimSpace(s), maxDetails+len(text.Ellipsis))
}
