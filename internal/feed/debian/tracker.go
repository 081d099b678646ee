package debian

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// TrackerJSON returns the loader for the security tracker's JSON export
// ({source package: {CVE: {description, releases: {codename: {status, …}}}}}).
// It streams one source package at a time.
func TrackerJSON(opts ...Option) feed.Loader { return &trackerLoader{cfg: newConfig(opts)} }

type trackerLoader struct{ cfg config }

type trackerCVE struct {
	Description string          `json:"description"`
	Scope       string          `json:"scope"`
	Releases    trackerReleases `json:"releases"`
}

// trackerReleases is an object keyed by codename; the tracker writes an
// empty array when no release has a status.
type trackerReleases map[string]trackerRelease

func (t *trackerReleases) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("[]")) {
		*t = nil
		return nil
	}
	return json.Unmarshal(b, (*map[string]trackerRelease)(t))
}

type trackerRelease struct {
	Status       string `json:"status"`
	FixedVersion string `json:"fixed_version"`
	Urgency      string `json:"urgency"`
	NoDSA        string `json:"nodsa"`
	NoDSAReason  string `json:"nodsa_reason"`
}

func (*trackerLoader) Name() string { return "debian-tracker-json" }

func (*trackerLoader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n")
	if len(h) == 0 || h[0] != '{' {
		return false
	}
	// Keys are specific to the tracker; OSV and NVD have none of them.
	return bytes.Contains(h, []byte(`"releases"`)) &&
		(bytes.Contains(h, []byte(`"urgency"`)) || bytes.Contains(h, []byte(`"fixed_version"`)) || bytes.Contains(h, []byte(`"debianbug"`))) &&
		!bytes.Contains(h, []byte(`"schema_version"`)) && !bytes.Contains(h, []byte(`"affected"`))
}

func (l *trackerLoader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	dec := json.NewDecoder(&limited{r: r, n: maxJSONFile})
	if tok, err := dec.Token(); err != nil {
		return 0, wrap("read debian tracker JSON", name, err)
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return 0, fmt.Errorf("read debian tracker JSON %s: top level is not an object", name)
	}
	seen := map[string]bool{}
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return len(seen), err
		}
		tok, err := dec.Token()
		if err != nil {
			return len(seen), wrap("read debian tracker JSON", name, err)
		}
		pkg, _ := tok.(string)
		var cves map[string]trackerCVE
		if err := dec.Decode(&cves); err != nil {
			return len(seen), fmt.Errorf("read debian tracker JSON %s: package %q: %w", name, pkg, err)
		}
		ids := make([]string, 0, len(cves))
		for id := range cves {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if err := l.emit(ctx, pkg, id, cves[id], sink); err != nil {
				return len(seen), wrap("load debian tracker JSON", name, err)
			}
			seen[id] = true
		}
	}
	if _, err := dec.Token(); err != nil {
		return len(seen), wrap("read debian tracker JSON", name, err)
	}
	return len(seen), nil
}

func (l *trackerLoader) emit(ctx context.Context, pkg, id string, c trackerCVE, sink advisory.Sink) error {
	if pkg == "" || id == "" {
		return nil
	}
	v := advisory.Vulnerability{ID: id, Summary: trimDetails(c.Description), Source: SourceTracker}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return fmt.Errorf("store %s: %w", id, err)
	}
	rels := make([]string, 0, len(c.Releases))
	for rel := range c.Releases {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		eco, ok := ecosystem(rel)
		if !ok {
			continue // sid, experimental
		}
		a := trackerAffected(id, pkg, c.Releases[rel])
		a.Ecosystem = eco
		if err := sink.PutAffected(ctx, a); err != nil {
			return fmt.Errorf("store %s %s %s: %w", id, eco, pkg, err)
		}
	}
	return nil
}

func trackerAffected(id, pkg string, r trackerRelease) advisory.Affected {
	a := advisory.Affected{VulnID: id, Package: pkg, Source: SourceTracker}
	sev, sevNote := parseUrgency(r.Urgency)
	a.Severity = sev
	switch r.Status {
	case "resolved":
		switch r.FixedVersion {
		case "0":
			a.Status = advisory.AffectedNot
		case "":
			a.Status, a.Note = advisory.AffectedUnfixed, "resolved without a fixed version"
		default:
			a.Ranges = fixedRange(r.FixedVersion)
		}
	case "open":
		a.Status = advisory.AffectedUnfixed
		switch r.NoDSAReason {
		case "ignored":
			a.Status = advisory.AffectedWillNotFix
			a.Note = "ignored: " + orDash(r.NoDSA)
		case "postponed":
			a.Note = "postponed: " + orDash(r.NoDSA)
		default:
			if r.NoDSA != "" {
				a.Note = "no DSA: " + r.NoDSA
			}
		}
	case "undetermined":
		a.Status, a.Note = advisory.AffectedUnfixed, "undetermined"
	default:
		a.Status, a.Note = advisory.AffectedUnfixed, "unrecognised status "+r.Status
	}
	a.Note = joinNote(a.Note, sevNote)
	return a
}
