package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/sarif"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// The SARIF types live in internal/sarif (hand-written: the subset is small
// and the tests validate it against the official schema).
const informationURI = "https://github.com/bulwarkdev/bulwark"

// securitySeverity is GitHub's "security-severity" property: the highest
// CVSS score, else a representative score of the severity band so that code
// scanning ranks unscored findings sensibly.
func securitySeverity(f model.Finding) string {
	best := -1.0
	for _, c := range f.CVSS {
		if c.Score > best {
			best = c.Score
		}
	}
	if best < 0 {
		switch f.Severity {
		case model.SeverityCritical:
			best = 9.5
		case model.SeverityHigh:
			best = 8.0
		case model.SeverityMedium:
			best = 5.5
		case model.SeverityLow:
			best = 2.0
		default:
			best = 0
		}
	}
	return strconv.FormatFloat(best, 'f', 1, 64)
}

func findingMessage(f model.Finding) string {
	if f.Remediation != "" {
		return f.Remediation
	}
	v := f.InstalledVersion
	if v == "" {
		v = f.Package.Version
	}
	return fmt.Sprintf("%s in %s %s", f.ID, f.Package.Name, v)
}

// fingerprint is stable across scans of rebuilt images: it leaves out layer
// digests and the image digest on purpose, so that a finding that persists
// keeps its identity in code scanning.
func fingerprint(f model.Finding) string {
	h := sha256.New()
	for _, s := range []string{f.ID, string(f.Package.Type), f.Package.Name, f.InstalledVersion, f.Package.Path} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// artifactURI is the package's path as a relative URI reference.
func artifactURI(p model.Package) string {
	path := strings.TrimLeft(p.Path, "/")
	if path == "" {
		return ""
	}
	return (&url.URL{Path: path}).EscapedPath()
}

func writeSARIF(w io.Writer, r *model.Report, opts Options) error {
	img := imageName(r)
	fq := img
	if d := imageDigest(r.Image); d != "" && !strings.Contains(img, d) {
		fq = img + "@" + d
	}
	run := sarif.Run{
		Tool: sarif.Tool{Driver: sarif.Driver{
			Name:           toolName(r),
			Version:        toolVersion(r, opts),
			InformationURI: informationURI,
			Rules:          []sarif.Rule{},
		}},
		Results: []sarif.Result{},
	}
	run.Properties = map[string]any{"image": img}
	if d := imageDigest(r.Image); d != "" {
		run.Properties["digest"] = d
	}
	if v := r.Summary.Verdict; v != "" {
		run.Properties["verdict"] = string(v)
		run.Properties["coverage"] = r.Summary.Coverage
		// A part not assessed is a notification of the run, not a result:
		// it names no vulnerability, but a reader of the log must see that
		// the absence of results there means nothing.
		inv := sarif.Invocation{ExecutionSuccessful: true}
		for _, p := range r.Summary.Coverage {
			if p.Assessed {
				continue
			}
			n := sarif.Notification{Level: "note", Message: sarif.Text{Text: coverageLine(p)}, Descriptor: &sarif.Descriptor{ID: "coverage/not-matchable"}}
			if p.Kind != model.CoverageNone {
				n.Level = "warning"
				n.Descriptor.ID = "coverage/not-assessed"
				if p.Need != "" {
					n.Message.Text += "; needs " + p.Need
				}
			}
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
		}
		run.Invocations = []sarif.Invocation{inv}
	}
	ruleIndex := map[string]int{}
	for _, f := range r.Findings {
		idx, ok := ruleIndex[f.ID]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[f.ID] = idx
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleFor(f))
		}
		res := sarif.Result{
			RuleID:              f.ID,
			RuleIndex:           idx,
			Level:               sarif.Level(f.Severity),
			Message:             sarif.Text{Text: findingMessage(f)},
			PartialFingerprints: map[string]string{"bulwarkFinding/v1": fingerprint(f)},
			Properties: map[string]any{
				"package":           f.Package.Name,
				"installed_version": f.InstalledVersion,
				"status":            string(f.Status),
			},
		}
		if f.FixedVersion != "" {
			res.Properties["fixed_version"] = f.FixedVersion
		}
		loc := sarif.Location{LogicalLocations: []sarif.Logical{{Name: img, FullyQualifiedName: fq, Kind: "module"}}}
		if u := artifactURI(f.Package); u != "" {
			loc.PhysicalLocation = &sarif.Physical{ArtifactLocation: sarif.Artifact{URI: u}}
		}
		res.Locations = []sarif.Location{loc}
		if suppressed(f) {
			res.Suppressions = []sarif.Suppression{{Kind: "external", Status: "accepted", Justification: suppressionText(f)}}
		}
		run.Results = append(run.Results, res)
	}
	return sarif.Write(w, run)
}

func suppressionText(f model.Finding) string {
	s := f.Suppression
	if s == nil {
		return string(f.Status)
	}
	var parts []string
	for _, p := range []string{s.Kind, s.Justification, s.Reason} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if s.Source != "" {
		parts = append(parts, "from "+s.Source)
	}
	return strings.Join(parts, ": ")
}

func sarifRuleFor(f model.Finding) sarif.Rule {
	short := f.Title
	if short == "" {
		short = f.ID
	}
	full := f.Title
	if full == "" {
		full = fmt.Sprintf("%s in %s", f.ID, f.Package.Name)
	}
	rule := sarif.Rule{
		ID:               f.ID,
		Name:             "Vulnerability",
		ShortDescription: &sarif.Text{Text: truncate(oneLine(short), 200)},
		FullDescription:  &sarif.Text{Text: full},
		Properties: map[string]any{
			"security-severity": securitySeverity(f),
			"tags":              []string{"security", "vulnerability", string(f.Severity), string(f.Package.Type)},
			"precision":         "very-high",
		},
	}
	if len(f.References) > 0 {
		rule.HelpURI = f.References[0]
	}
	help := fmt.Sprintf("%s\nSeverity: %s\nPackage: %s %s", full, f.Severity, f.Package.Name, f.InstalledVersion)
	if f.FixedVersion != "" {
		help += "\nFixed in: " + f.FixedVersion
	}
	rule.Help = &sarif.Text{Text: help}
	return rule
}
