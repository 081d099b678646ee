package osv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/text"
	"io"
	"path"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/cvss"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const (
	maxDetails    = 500
	maxReferences = 10
	// maxYAML bounds one YAML document; PyPA files are a few KiB.
	maxYAML = 16 << 20
)

// Tally names reported by Tallies.
const (
	TallyNoPackage = "no package"
	TallyWithdrawn = "withdrawn"
)

type loader struct {
	noPackage atomic.Int64
	withdrawn atomic.Int64
}

// Loader returns the OSV loader. It counts affected entries without a
// package and withdrawn advisories (see Tallies); both are expected in real
// feeds and are not errors.
func Loader() feed.Loader { return &loader{} }

func (*loader) Name() string { return "osv" }

// Tallies reports notable but harmless things seen so far.
func (l *loader) Tallies() map[string]int {
	return map[string]int{TallyNoPackage: int(l.noPackage.Load()), TallyWithdrawn: int(l.withdrawn.Load())}
}

var (
	// OSV ids are PREFIX-rest: GO-2024-1, GHSA-xxxx-…, PYSEC-…, CVE-…, DLA-…,
	// ALPINE-CVE-…, and openSUSE-SU-… (the one prefix in lower case first).
	jsonIDRe = regexp.MustCompile(`"id"\s*:\s*"(?:[A-Z][A-Za-z0-9]*|openSUSE)-[A-Za-z0-9._:-]+"`)
	yamlIDRe = regexp.MustCompile(`(?m)^id:\s*['"]?(?:[A-Z][A-Za-z0-9]*|openSUSE)-[A-Za-z0-9._:-]+['"]?\s*$`)
	yamlKeys = regexp.MustCompile(`(?m)^(affected|modified|aliases):`)
	// Keys of other JSON formats that also have an "id" somewhere.
	foreignKeys = [][]byte{[]byte(`"CVE_Items"`), []byte(`"catalogVersion"`), []byte(`"module_name"`), []byte(`"Header"`), []byte(`"resultsPerPage"`), []byte(`"secfixes"`)}
	osvKeys     = [][]byte{[]byte(`"affected"`), []byte(`"modified"`), []byte(`"schema_version"`), []byte(`"published"`)}
)

// Detect recognises OSV JSON by an OSV-looking id next to OSV keys, and OSV
// YAML by top-level id: and affected:/modified: keys.
func (*loader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(h) == 0 {
		return false
	}
	if h[0] == '{' || h[0] == '[' {
		for _, k := range foreignKeys {
			if bytes.Contains(h, k) {
				return false
			}
		}
		if !jsonIDRe.Match(h) {
			return false
		}
		for _, k := range osvKeys {
			if bytes.Contains(h, k) {
				return true
			}
		}
		return false
	}
	ext := strings.ToLower(path.Ext(name))
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	return yamlIDRe.Match(h) && yamlKeys.Match(h)
}

// Load reads one file: a JSON object, a JSON array of objects, or a YAML
// document. It returns the number of advisories written.
func (l *loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	br := bufio.NewReader(r)
	first, err := firstByte(br)
	if err != nil {
		return 0, fmt.Errorf("read OSV %s: %w", name, err)
	}
	switch first {
	case '{':
		var e entry
		dec := json.NewDecoder(br)
		if err := dec.Decode(&e); err != nil {
			return 0, fmt.Errorf("decode OSV JSON %s: %w", name, err)
		}
		return l.put(ctx, name, &e, sink)
	case '[':
		return l.loadArray(ctx, name, br, sink)
	default:
		data, err := io.ReadAll(io.LimitReader(br, maxYAML+1))
		if err != nil {
			return 0, fmt.Errorf("read OSV YAML %s: %w", name, err)
		}
		if len(data) > maxYAML {
			return 0, fmt.Errorf("read OSV YAML %s: larger than %d bytes", name, maxYAML)
		}
		var e entry
		if err := yaml.Unmarshal(data, &e); err != nil {
			return 0, fmt.Errorf("decode OSV YAML %s: %w", name, err)
		}
		return l.put(ctx, name, &e, sink)
	}
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errors.New("empty file")
			}
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xef: // UTF-8 BOM
			if _, err := br.Discard(2); err != nil {
				return 0, err
			}
			continue
		}
		return b, br.UnreadByte()
	}
}

// loadArray streams the elements of a JSON array so large exports do not
// sit in memory whole.
func (l *loader) loadArray(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		return 0, fmt.Errorf("decode OSV array %s: %w", name, err)
	}
	n := 0
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var e entry
		if err := dec.Decode(&e); err != nil {
			return n, fmt.Errorf("decode OSV array %s element %d: %w", name, n, err)
		}
		k, err := l.put(ctx, name, &e, sink)
		if err != nil {
			return n, err
		}
		n += k
	}
	if _, err := dec.Token(); err != nil {
		return n, fmt.Errorf("decode OSV array %s end: %w", name, err)
	}
	return n, nil
}

func (l *loader) put(ctx context.Context, name string, e *entry, sink advisory.Sink) (int, error) {
	if e.ID == "" {
		return 0, fmt.Errorf("OSV %s: record without id", name)
	}
	if strings.TrimSpace(e.Withdrawn) != "" {
		l.withdrawn.Add(1)
		return 0, nil
	}
	v, affs := convert(e)
	for _, a := range affs {
		if a.Package == "" || a.Ecosystem == "" {
			l.noPackage.Add(1)
		}
	}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return 0, fmt.Errorf("store %s from %s: %w", v.ID, name, err)
	}
	for _, a := range affs {
		if a.Package == "" || a.Ecosystem == "" {
			continue
		}
		if err := sink.PutAffected(ctx, a); err != nil {
			return 0, fmt.Errorf("store %s %s/%s from %s: %w", v.ID, a.Ecosystem, a.Package, name, err)
		}
	}
	return 1, nil
}

// convert maps one OSV entry to the advisory model. Affected entries
// without a package are returned with empty names so the caller can count
// them.
func convert(e *entry) (advisory.Vulnerability, []advisory.Affected) {
	source := "osv:" + feedName(e)
	v := advisory.Vulnerability{
		ID:        strings.TrimSpace(e.ID),
		Aliases:   clean(e.Aliases),
		Summary:   strings.TrimSpace(e.Summary),
		Details:   text.Truncate(strings.TrimSpace(e.Details), maxDetails),
		Published: parseTime(e.Published),
		Modified:  parseTime(e.Modified),
		Source:    source,
	}
	for _, r := range e.References {
		if len(v.References) >= maxReferences {
			break
		}
		if u := strings.TrimSpace(r.URL); u != "" {
			v.References = append(v.References, u)
		}
	}
	v.CVSS = scores(e.Severity, source)
	// Ubuntu's priority comes as a severity of type "Ubuntu" ("medium").
	for _, s := range e.Severity {
		if strings.EqualFold(s.Type, "Ubuntu") {
			if sev, err := model.ParseSeverity(s.Score); err == nil && sev != model.SeverityUnknown {
				v.Severity, v.SeveritySource = sev, "ubuntu"
			}
		}
	}
	if s, ok := stringField(e.DatabaseSpecific, "severity"); ok {
		if sev, err := model.ParseSeverity(s); err == nil && sev != model.SeverityUnknown {
			v.Severity, v.SeveritySource = sev, "ghsa"
			if !strings.HasPrefix(v.ID, "GHSA-") {
				v.SeveritySource = feedName(e)
			}
		}
	}
	affs := make([]advisory.Affected, 0, len(e.Affected))
	for _, a := range e.Affected {
		out := advisory.Affected{VulnID: v.ID, Source: source}
		if a.Package != nil {
			out.Ecosystem = strings.TrimSpace(a.Package.Ecosystem)
			out.Package = strings.TrimSpace(a.Package.Name)
		}
		for _, r := range a.Ranges {
			rr := advisory.Range{Type: advisory.RangeType(strings.ToUpper(r.Type))}
			for _, ev := range r.Events {
				rr.Events = append(rr.Events, advisory.Event{Introduced: ev.Introduced, Fixed: ev.Fixed, LastAffected: ev.LastAffected, Limit: ev.Limit})
			}
			out.Ranges = append(out.Ranges, rr)
		}
		out.Versions = clean(a.Versions)
		// Per-package rating: CVSS in affected[].severity (Kubernetes feed),
		// or a vendor word in ecosystem_specific/database_specific.
		if cs := scores(a.Severity, source); len(cs) > 0 {
			out.Severity = worst(cs)
			v.CVSS = appendNew(v.CVSS, cs)
		} else if s, ok := stringField(a.EcosystemSpecific, "severity"); ok {
			if sev, err := model.ParseSeverity(s); err == nil {
				out.Severity = sev
			}
		} else if s, ok := stringField(a.DatabaseSpecific, "severity"); ok {
			if sev, err := model.ParseSeverity(s); err == nil {
				out.Severity = sev
			}
		}
		affs = append(affs, out)
	}
	return v, affs
}

// feedName derives the feed from the id prefix ("GO-2024-1" → "go"); CVE
// ids (the Kubernetes feed) use the ecosystem instead.
func feedName(e *entry) string {
	id := strings.TrimSpace(e.ID)
	prefix, _, ok := strings.Cut(id, "-")
	if !ok || prefix == "" {
		return "unknown"
	}
	if prefix == "CVE" {
		for _, a := range e.Affected {
			if a.Package != nil && a.Package.Ecosystem != "" {
				base, _, _ := strings.Cut(a.Package.Ecosystem, ":")
				return strings.ToLower(base)
			}
		}
	}
	return strings.ToLower(prefix)
}

func scores(ss []severity, source string) []model.CVSS {
	var out []model.CVSS
	for _, s := range ss {
		if !strings.HasPrefix(strings.ToUpper(s.Type), "CVSS_") {
			continue
		}
		c, err := cvss.Score(s.Score)
		if err != nil {
			// An unscorable vector is still worth showing.
			if strings.TrimSpace(s.Score) == "" {
				continue
			}
			c = model.CVSS{Version: versionOf(s.Type), Vector: text.Truncate(strings.TrimSpace(s.Score), 200)}
		}
		c.Source = source
		out = appendNew(out, []model.CVSS{c})
	}
	return out
}

func versionOf(typ string) string {
	switch strings.ToUpper(typ) {
	case "CVSS_V2":
		return "2.0"
	case "CVSS_V3":
		return "3.1"
	case "CVSS_V4":
		return "4.0"
	}
	return ""
}

func worst(cs []model.CVSS) model.Severity {
	best := model.SeverityUnknown
	for _, c := range cs {
		if c.Score == 0 && c.Vector != "" && c.Version == "" {
			continue
		}
		if s := model.SeverityFromScore(c.Score); s.Rank() > best.Rank() {
			best = s
		}
	}
	return best
}

func appendNew(dst, src []model.CVSS) []model.CVSS {
outer:
	for _, c := range src {
		for _, d := range dst {
			if d.Vector == c.Vector {
				continue outer
			}
		}
		dst = append(dst, c)
	}
	return dst
}

func stringField(m map[string]any, key string) (string, bool) {
	if m == nil {
		return "", false
	}
	s, ok := m[key].(string)
	return s, ok && s != ""
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func clean(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
