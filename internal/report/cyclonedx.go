package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/google/uuid"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Property names Bulwark writes into CycloneDX (and reads back in
// internal/sbom). They are part of the documented schema.
const (
	PropLayerIndex    = "bulwark:layer:index"
	PropLayerDigest   = "bulwark:layer:digest"
	PropLayerDiffID   = "bulwark:layer:diff_id"
	PropLayerCreated  = "bulwark:layer:created_by"
	PropLayerBase     = "bulwark:layer:base"
	PropPackagePath   = "bulwark:package:path"
	PropPackageType   = "bulwark:package:type"
	PropSourceName    = "bulwark:source:name"
	PropSourceVersion = "bulwark:source:version"
	PropKnownExploit  = "bulwark:known_exploited"
	PropKEVDateAdded  = "bulwark:kev_date_added"
	PropEPSS          = "bulwark:epss"            // FIRST EPSS score, 0–1
	PropEPSSPct       = "bulwark:epss_percentile" // 0–1
	PropStatus        = "bulwark:status"
	PropDistroID      = "bulwark:distro:id"
	PropDistroVersion = "bulwark:distro:version_id"
	PropDistroCode    = "bulwark:distro:codename"
	PropImageConfig   = "bulwark:image:config_digest"
	PropImageRef      = "bulwark:image:reference"
	// The verdict and its coverage (scan reports only): one
	// bulwark:coverage property per part, "<part>: assessed" or
	// "<part>: not assessed: <reason>".
	PropVerdict  = "bulwark:verdict"
	PropCoverage = "bulwark:coverage"
)

// bomNamespace seeds the serial number so that the same image always gets
// the same BOM serial (golden tests, and diffable SBOMs).
var bomNamespace = uuid.MustParse("6f1c0c5e-8f0a-4a62-9b4e-5b3c3d2e9a10")

func writeCycloneDX(w io.Writer, r *model.Report, opts Options, withVulns bool) error {
	bom := buildCycloneDX(r, opts, withVulns)
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	return enc.EncodeVersion(bom, cdx.SpecVersion1_6)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func props(kv ...string) *[]cdx.Property {
	var ps []cdx.Property
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			ps = append(ps, cdx.Property{Name: kv[i], Value: kv[i+1]})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &ps
}

// bomRefs gives every package a unique, stable bom-ref: its purl, made
// unique by the path (the same package at two paths is two packages).
func bomRefs(pkgs []model.Package) []string {
	refs := make([]string, len(pkgs))
	seen := map[string]bool{}
	next := map[string]int{} // next suffix per base, so many duplicates stay linear
	for i, p := range pkgs {
		base := packagePURL(p)
		if base == "" {
			base = fmt.Sprintf("%s:%s@%s", p.Type, p.Name, p.Version)
		}
		ref := base
		if seen[ref] && p.Path != "" {
			ref = base + "#" + p.Path
		}
		for seen[ref] {
			if next[base] < 2 {
				next[base] = 2
			}
			ref = base + "#" + strconv.Itoa(next[base])
			next[base]++
		}
		seen[ref] = true
		refs[i] = ref
	}
	return refs
}

func cdxLicenses(in []string) *cdx.Licenses {
	ls := make([]string, 0, len(in))
	for _, l := range in {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return nil
	}
	// The schema allows either a list of licenses or one expression, not both.
	if len(ls) == 1 && strings.ContainsAny(ls[0], " ()") {
		if ok, _ := spdxexp.ValidateLicenses(ls); ok {
			return &cdx.Licenses{{Expression: ls[0]}}
		}
	}
	out := make(cdx.Licenses, 0, len(ls))
	for _, l := range ls {
		if ok, id := spdxexp.ActiveLicense(l); ok {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{ID: id}})
		} else {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{Name: l}})
		}
	}
	return &out
}

func packageComponent(p model.Package, ref string) cdx.Component {
	c := cdx.Component{
		BOMRef:     ref,
		Type:       cdx.ComponentTypeLibrary,
		Name:       p.Name,
		Version:    p.Version,
		PackageURL: packagePURL(p),
		Licenses:   cdxLicenses(p.Licenses),
	}
	if p.Type == model.TypeJava {
		if g, a, ok := strings.Cut(p.Name, ":"); ok {
			c.Group, c.Name = g, a
		}
	}
	kv := []string{}
	if p.Layer != nil {
		base := ""
		if p.Layer.Base {
			base = "true"
		}
		kv = append(kv,
			PropLayerIndex, strconv.Itoa(p.Layer.Index),
			PropLayerDigest, p.Layer.Digest,
			PropLayerDiffID, p.Layer.DiffID,
			PropLayerCreated, p.Layer.CreatedBy,
			PropLayerBase, base)
	}
	kv = append(kv,
		PropPackagePath, p.Path,
		PropPackageType, string(p.Type),
		PropSourceName, p.SourceName,
		PropSourceVersion, p.SourceVersion)
	c.Properties = props(kv...)
	return c
}

func buildCycloneDX(r *model.Report, opts Options, withVulns bool) *cdx.BOM {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.JSONSchema = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	digest := imageDigest(r.Image)
	img := imageName(r)
	bom.SerialNumber = "urn:uuid:" + uuid.NewSHA1(bomNamespace, []byte(img+"\x00"+digest)).String()

	imgRef := "image"
	if p := imagePURL(r); p != "" {
		imgRef = p
	}
	imgComp := &cdx.Component{
		BOMRef:     imgRef,
		Type:       cdx.ComponentTypeContainer,
		Name:       img,
		Version:    digest,
		PackageURL: imagePURL(r),
		Properties: props(PropImageRef, r.Image.Reference, PropImageConfig, r.Image.ConfigDigest),
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: rfc3339(r.GeneratedAt),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type:    cdx.ComponentTypeApplication,
			Name:    toolName(r),
			Version: toolVersion(r, opts),
		}}},
		Component: imgComp,
	}
	if withVulns && r.Summary.Verdict != "" {
		ps := []cdx.Property{{Name: PropVerdict, Value: string(r.Summary.Verdict)}}
		for _, p := range r.Summary.Coverage {
			ps = append(ps, cdx.Property{Name: PropCoverage, Value: coverageLine(p)})
		}
		bom.Metadata.Properties = &ps
	}

	var comps []cdx.Component
	var imgDeps []string
	if d := r.Distro; d != nil {
		osRef := "os:" + d.ID + "@" + d.VersionID
		comps = append(comps, cdx.Component{
			BOMRef:      osRef,
			Type:        cdx.ComponentTypeOS,
			Name:        d.ID,
			Version:     d.VersionID,
			Description: d.PrettyName,
			Properties:  props(PropDistroID, d.ID, PropDistroVersion, d.VersionID, PropDistroCode, d.Codename),
		})
		imgDeps = append(imgDeps, osRef)
	}
	refs := bomRefs(r.Packages)
	refByKey := make(map[string]string, len(r.Packages))
	for i, p := range r.Packages {
		comps = append(comps, packageComponent(p, refs[i]))
		imgDeps = append(imgDeps, refs[i])
		refByKey[p.Key()] = refs[i]
	}
	bom.Components = &comps
	deps := []cdx.Dependency{{Ref: imgRef, Dependencies: &imgDeps}}
	bom.Dependencies = &deps

	if withVulns {
		vulns := cdxVulnerabilities(r, refByKey)
		bom.Vulnerabilities = &vulns
	}
	return bom
}

func cdxSeverity(s model.Severity) cdx.Severity {
	switch s {
	case model.SeverityCritical:
		return cdx.SeverityCritical
	case model.SeverityHigh:
		return cdx.SeverityHigh
	case model.SeverityMedium:
		return cdx.SeverityMedium
	case model.SeverityLow:
		return cdx.SeverityLow
	case model.SeverityInfo:
		return cdx.SeverityInfo
	}
	return cdx.SeverityUnknown
}

func cvssMethod(version string) cdx.ScoringMethod {
	switch version {
	case "2.0", "2":
		return cdx.ScoringMethodCVSSv2
	case "3.0":
		return cdx.ScoringMethodCVSSv3
	case "3.1":
		return cdx.ScoringMethodCVSSv31
	case "4.0", "4":
		return cdx.ScoringMethodCVSSv4
	}
	return cdx.ScoringMethodOther
}

// vexJustification maps OpenVEX justifications (what suppress records) onto
// CycloneDX's.
func vexJustification(j string) cdx.ImpactAnalysisJustification {
	switch strings.ToLower(strings.TrimSpace(j)) {
	case "component_not_present", "vulnerable_code_not_present", "code_not_present":
		return cdx.IAJCodeNotPresent
	case "vulnerable_code_not_in_execute_path", "vulnerable_code_cannot_be_controlled_by_adversary", "code_not_reachable":
		return cdx.IAJCodeNotReachable
	case "inline_mitigations_already_exist", "protected_by_mitigating_control":
		return cdx.IAJProtectedByMitigatingControl
	case "requires_configuration":
		return cdx.IAJRequiresConfiguration
	case "requires_dependency":
		return cdx.IAJRequiresDependency
	case "requires_environment":
		return cdx.IAJRequiresEnvironment
	case "protected_by_compiler":
		return cdx.IAJProtectedByCompiler
	case "protected_at_runtime":
		return cdx.IAJProtectedAtRuntime
	case "protected_at_perimeter":
		return cdx.IAJProtectedAtPerimeter
	}
	return ""
}

func vulnSource(f model.Finding) *cdx.Source {
	id := f.ID
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return &cdx.Source{Name: "NVD", URL: "https://nvd.nist.gov/vuln/detail/" + id}
	case strings.HasPrefix(id, "GHSA-"):
		return &cdx.Source{Name: "GitHub", URL: "https://github.com/advisories/" + id}
	case len(f.DataSources) > 0:
		return &cdx.Source{Name: f.DataSources[0]}
	}
	return nil
}

func cdxVulnerabilities(r *model.Report, refByKey map[string]string) []cdx.Vulnerability {
	out := make([]cdx.Vulnerability, 0, len(r.Findings))
	for _, f := range r.Findings {
		v := cdx.Vulnerability{
			ID:          f.ID,
			Source:      vulnSource(f),
			Description: f.Title,
		}
		var ratings []cdx.VulnerabilityRating
		for _, c := range f.CVSS {
			score := c.Score
			rt := cdx.VulnerabilityRating{
				Score:    &score,
				Severity: cdxSeverity(model.SeverityFromScore(c.Score)),
				Method:   cvssMethod(c.Version),
				Vector:   c.Vector,
			}
			if c.Source != "" {
				rt.Source = &cdx.Source{Name: c.Source}
			}
			ratings = append(ratings, rt)
		}
		// The verdict's own severity (which may come from the distro) last.
		sr := cdx.VulnerabilityRating{Severity: cdxSeverity(f.Severity), Method: cdx.ScoringMethodOther}
		if f.SeveritySource != "" {
			sr.Source = &cdx.Source{Name: f.SeveritySource}
		}
		ratings = append(ratings, sr)
		v.Ratings = &ratings
		if len(f.References) > 0 {
			adv := make([]cdx.Advisory, 0, len(f.References))
			for _, u := range f.References {
				adv = append(adv, cdx.Advisory{URL: u})
			}
			v.Advisories = &adv
		}
		if len(f.Aliases) > 0 {
			refs := make([]cdx.VulnerabilityReference, 0, len(f.Aliases))
			for _, a := range f.Aliases {
				refs = append(refs, cdx.VulnerabilityReference{ID: a, Source: vulnSource(model.Finding{ID: a})})
			}
			v.References = &refs
		}
		if f.Published != nil {
			v.Published = rfc3339(*f.Published)
		}
		if f.FixedVersion != "" {
			v.Recommendation = "Upgrade " + f.Package.Name + " to " + f.FixedVersion
		}
		ref, ok := refByKey[f.Package.Key()]
		if !ok {
			ref = packagePURL(f.Package)
		}
		v.Affects = &[]cdx.Affects{{Ref: ref, Range: &[]cdx.AffectedVersions{{
			Version: f.InstalledVersion, Status: cdx.VulnerabilityStatusAffected,
		}}}}
		v.Analysis = cdxAnalysis(f)
		kev := ""
		if f.KnownExploited {
			kev = "true"
		}
		epss, pct := "", ""
		if f.EPSS != nil {
			epss, pct = strconv.FormatFloat(f.EPSS.Score, 'f', -1, 64), strconv.FormatFloat(f.EPSS.Percentile, 'f', -1, 64)
		}
		v.Properties = props(PropStatus, string(f.Status), PropKnownExploit, kev, PropKEVDateAdded, f.KEVDateAdded,
			PropEPSS, epss, PropEPSSPct, pct)
		out = append(out, v)
	}
	return out
}

func cdxAnalysis(f model.Finding) *cdx.VulnerabilityAnalysis {
	a := &cdx.VulnerabilityAnalysis{Detail: f.Remediation}
	switch f.Status {
	case model.StatusNotAffected:
		a.State = cdx.IASNotAffected
		if f.Suppression != nil {
			a.Justification = vexJustification(f.Suppression.Justification)
			if a.Detail == "" {
				a.Detail = suppressionText(f)
			}
		}
	case model.StatusExempt:
		// An ignore-file entry is a decision, not an analysis result.
		a.State = cdx.IASInTriage
		a.Detail = strings.TrimSpace(a.Detail + " (exempt: " + suppressionText(f) + ")")
	case model.StatusWillNotFix:
		a.State = cdx.IASExploitable
		a.Response = &[]cdx.ImpactAnalysisResponse{cdx.IARWillNotFix}
	default:
		a.State = cdx.IASExploitable
		if f.FixedVersion != "" {
			a.Response = &[]cdx.ImpactAnalysisResponse{cdx.IARUpdate}
		}
	}
	return a
}
