package suppress

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"go.yaml.in/yaml/v3"
)

// maxFile bounds ignore and VEX files; real ones are a few KiB.
const maxFile = 8 << 20

// maxEntries bounds the entries of one ignore file.
const maxEntries = 100_000

// Rules are the entries of one ignore file.
type Rules struct {
	source  string
	entries []entry
}

type entry struct {
	id      string
	pkg     string // name, or purl prefix when it starts with "pkg:"
	reason  string
	expires time.Time // zero: never; else the entry holds through that day (UTC)
	line    int
}

// LoadIgnoreFile reads an ignore file: YAML
// (`ignore: [{id, package, reason, expires}]`) when its name ends in
// .yaml/.yml or its first statement is `ignore:`, else the .trivyignore
// text form (one id per line, `#` comments, optional `exp:YYYY-MM-DD`).
func LoadIgnoreFile(path string) (*Rules, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("read ignore file %s: %w", path, err)
	}
	r, err := parseIgnore(data, path)
	if err != nil {
		return nil, fmt.Errorf("parse ignore file %s: %w", path, err)
	}
	return r, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("file larger than %d bytes", maxFile)
	}
	return data, nil
}

func parseIgnore(data []byte, source string) (*Rules, error) {
	ext := strings.ToLower(filepath.Ext(source))
	if ext == ".yaml" || ext == ".yml" || looksYAML(data) {
		return parseIgnoreYAML(data, source)
	}
	return parseIgnoreText(data, source)
}

// looksYAML is true when the first statement of the file is "ignore:".
func looksYAML(data []byte) bool {
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || line == "---" {
			continue
		}
		return strings.HasPrefix(line, "ignore:")
	}
	return false
}

type yamlEntry struct {
	ID      string `yaml:"id"`
	Package string `yaml:"package"`
	Reason  string `yaml:"reason"`
	Expires string `yaml:"expires"`
}

func parseIgnoreYAML(data []byte, source string) (*Rules, error) {
	var doc struct {
		Ignore []yaml.Node `yaml:"ignore"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err // yaml.v3 errors name the line
	}
	if len(doc.Ignore) > maxEntries {
		return nil, fmt.Errorf("more than %d entries", maxEntries)
	}
	r := &Rules{source: source}
	for _, n := range doc.Ignore {
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: entry is not a mapping", n.Line)
		}
		for k := 0; k+1 < len(n.Content); k += 2 {
			switch key := n.Content[k]; key.Value {
			case "id", "package", "reason", "expires":
			default:
				return nil, fmt.Errorf("line %d: unknown field %q (want id, package, reason, expires)", key.Line, key.Value)
			}
		}
		var ye yamlEntry
		if err := n.Decode(&ye); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		e := entry{id: strings.TrimSpace(ye.ID), pkg: strings.TrimSpace(ye.Package), reason: ye.Reason, line: n.Line}
		if e.id == "" {
			return nil, fmt.Errorf("line %d: entry without id", n.Line)
		}
		if ye.Expires != "" {
			t, err := parseDate(ye.Expires)
			if err != nil {
				return nil, fmt.Errorf("line %d: expires: %w", n.Line, err)
			}
			e.expires = t
		}
		r.entries = append(r.entries, e)
	}
	return r, nil
}

func parseIgnoreText(data []byte, source string) (*Rules, error) {
	r := &Rules{source: source}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if !strings.ContainsFunc(fields[0], func(r rune) bool { return r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }) {
			return nil, fmt.Errorf("line %d: %q is not a vulnerability id", line, fields[0])
		}
		e := entry{id: fields[0], line: line}
		for _, f := range fields[1:] {
			v, ok := strings.CutPrefix(f, "exp:")
			if !ok {
				return nil, fmt.Errorf("line %d: unexpected %q (want exp:YYYY-MM-DD)", line, f)
			}
			t, err := parseDate(v)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			e.expires = t
		}
		if len(r.entries) >= maxEntries {
			return nil, fmt.Errorf("more than %d entries", maxEntries)
		}
		r.entries = append(r.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return r, nil
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
}

// expired: the entry held through its expiry day (UTC).
func (e entry) expired(now time.Time) bool {
	if e.expires.IsZero() {
		return false
	}
	end := e.expires
	if end.Hour() == 0 && end.Minute() == 0 && end.Second() == 0 && end.Nanosecond() == 0 {
		end = end.Add(24 * time.Hour)
	}
	return !now.Before(end)
}

func (e entry) matches(f model.Finding) bool {
	if e.id != f.ID && !slices.Contains(f.Aliases, e.id) {
		return false
	}
	if e.pkg == "" {
		return true
	}
	if strings.HasPrefix(e.pkg, "pkg:") {
		return f.Package.PURL != "" && strings.HasPrefix(f.Package.PURL, e.pkg)
	}
	return e.pkg == f.Package.Name || (f.Package.SourceName != "" && e.pkg == f.Package.SourceName)
}

// Len returns the number of entries.
func (r *Rules) Len() int { return len(r.entries) }

// Apply marks the findings an entry matches (by id or alias) exempt, and
// warns about entries that have expired, which no longer apply. Findings
// already suppressed are left as they are. It returns a new slice.
func (r *Rules) Apply(findings []model.Finding, now time.Time) ([]model.Finding, []model.Warning) {
	out := slices.Clone(findings)
	var warns []model.Warning
	for _, e := range r.entries {
		if e.expired(now) {
			warns = append(warns, model.Warning{Stage: "suppress", Subject: e.id,
				Message: fmt.Sprintf("ignore entry for %s expired on %s (%s line %d); it no longer applies", e.id, e.expires.Format("2006-01-02"), r.source, e.line)})
		}
	}
	for i := range out {
		f := &out[i]
		if f.Status == model.StatusExempt || f.Status == model.StatusNotAffected {
			continue
		}
		for _, e := range r.entries {
			if e.expired(now) || !e.matches(*f) {
				continue
			}
			s := &model.Suppression{Kind: "ignore-file", Reason: e.reason, Source: r.source}
			if !e.expires.IsZero() {
				s.Expires = e.expires.Format("2006-01-02")
			}
			f.Status, f.Suppression = model.StatusExempt, s
			break
		}
	}
	return out, warns
}
