package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// The SARIF 2.1.0 subset Bulwark writes. Hand-written because no maintained
// Go SARIF module is among our dependencies and the subset is small; the
// tests validate it against the official schema.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// Properties carry the image the run looked at.
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	ShortDescription *sarifText     `json:"shortDescription,omitempty"`
	FullDescription  *sarifText     `json:"fullDescription,omitempty"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Help             *sarifText     `json:"help,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints,omitempty"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}

const (
	sarifSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	informationURI = "https://github.com/bulwarkdev/bulwark"
)

// sarifLevel maps our scale onto SARIF's three levels.
func sarifLevel(s model.Severity) string {
	switch s {
	case model.SeverityCritical, model.SeverityHigh:
		return "error"
	case model.SeverityMedium:
		return "warning"
	}
	return "note"
}

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
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           toolName(r),
			Version:        toolVersion(r, opts),
			InformationURI: informationURI,
			Rules:          []sarifRule{},
		}},
		Results: []sarifResult{},
	}
	run.Properties = map[string]any{"image": img}
	if d := imageDigest(r.Image); d != "" {
		run.Properties["digest"] = d
	}
	ruleIndex := map[string]int{}
	for _, f := range r.Findings {
		idx, ok := ruleIndex[f.ID]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[f.ID] = idx
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleFor(f))
		}
		res := sarifResult{
			RuleID:              f.ID,
			RuleIndex:           idx,
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{Text: findingMessage(f)},
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
		loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: img, FullyQualifiedName: fq, Kind: "module"}}}
		if u := artifactURI(f.Package); u != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: u}}
		}
		res.Locations = []sarifLocation{loc}
		if suppressed(f) {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: suppressionText(f)}}
		}
		run.Results = append(run.Results, res)
	}
	log := sarifLog{Schema: sarifSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
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

func sarifRuleFor(f model.Finding) sarifRule {
	short := f.Title
	if short == "" {
		short = f.ID
	}
	full := f.Title
	if full == "" {
		full = fmt.Sprintf("%s in %s", f.ID, f.Package.Name)
	}
	rule := sarifRule{
		ID:               f.ID,
		Name:             "Vulnerability",
		ShortDescription: &sarifText{Text: truncate(oneLine(short), 200)},
		FullDescription:  &sarifText{Text: full},
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
	rule.Help = &sarifText{Text: help}
	return rule
}
