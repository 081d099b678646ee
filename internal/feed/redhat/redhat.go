package redhat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/cvss"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/text"
	"github.com/package-url/packageurl-go"
)

const (
	source     = "redhat-csaf-vex"
	maxDetails = 500
	// maxDoc bounds one VEX document; the largest (kernel CVEs across
	// every product) are a few MiB.
	maxDoc = 64 << 20
)

type loader struct{ cfg feed.LoaderConfig }

// VEX returns the Red Hat CSAF VEX loader.
func VEX(opts ...feed.LoaderOption) feed.Loader {
	return &loader{cfg: feed.ApplyLoaderOptions(opts...)}
}

func (*loader) Name() string { return source }

// Detect: a CSAF document of category csaf_vex published by Red Hat.
func (*loader) Detect(_ string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	return len(h) > 0 && h[0] == '{' &&
		bytes.Contains(h, []byte(`"csaf_vex"`)) && bytes.Contains(h, []byte(`Red Hat`))
}

type doc struct {
	Document struct {
		Category string `json:"category"`
		Tracking struct {
			ID                 string `json:"id"`
			CurrentReleaseDate string `json:"current_release_date"`
			InitialReleaseDate string `json:"initial_release_date"`
		} `json:"tracking"`
		AggregateSeverity struct {
			Text string `json:"text"`
		} `json:"aggregate_severity"`
	} `json:"document"`
	ProductTree struct {
		Branches      []branch `json:"branches"`
		Relationships []struct {
			Category                  string  `json:"category"`
			FullProductName           product `json:"full_product_name"`
			ProductReference          string  `json:"product_reference"`
			RelatesToProductReference string  `json:"relates_to_product_reference"`
		} `json:"relationships"`
	} `json:"product_tree"`
	Vulnerabilities []struct {
		CVE   string `json:"cve"`
		Title string `json:"title"`
		Notes []struct {
			Category string `json:"category"`
			Text     string `json:"text"`
		} `json:"notes"`
		ReleaseDate   string `json:"release_date"`
		ProductStatus struct {
			Fixed              []string `json:"fixed"`
			KnownAffected      []string `json:"known_affected"`
			KnownNotAffected   []string `json:"known_not_affected"`
			UnderInvestigation []string `json:"under_investigation"`
		} `json:"product_status"`
		Remediations []struct {
			Category   string   `json:"category"`
			Details    string   `json:"details"`
			ProductIDs []string `json:"product_ids"`
		} `json:"remediations"`
		Scores []struct {
			CVSSv3 *vector `json:"cvss_v3"`
			CVSSv2 *vector `json:"cvss_v2"`
		} `json:"scores"`
		Threats []struct {
			Category string `json:"category"`
			Details  string `json:"details"`
		} `json:"threats"`
		References []struct {
			URL string `json:"url"`
		} `json:"references"`
	} `json:"vulnerabilities"`
}

type branch struct {
	Category string   `json:"category"`
	Name     string   `json:"name"`
	Product  *product `json:"product"`
	Branches []branch `json:"branches"`
}

type product struct {
	Name      string `json:"name"`
	ProductID string `json:"product_id"`
	Helper    struct {
		CPE  string `json:"cpe"`
		PURL string `json:"purl"`
	} `json:"product_identification_helper"`
}

// component is one package as the product tree names it.
type component struct {
	name    string // source package, module-qualified for module streams
	version string // [epoch:]version-release; empty for unfixed components
}

// Load reads one VEX document.
func (l *loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDoc+1))
	if err != nil {
		return 0, fmt.Errorf("read Red Hat VEX %s: %w", name, err)
	}
	if len(data) > maxDoc {
		return 0, fmt.Errorf("read Red Hat VEX %s: larger than %d bytes", name, maxDoc)
	}
	var d doc
	if err := json.Unmarshal(data, &d); err != nil {
		return 0, fmt.Errorf("decode Red Hat VEX %s: %w", name, err)
	}
	if d.Document.Category != "csaf_vex" {
		return 0, fmt.Errorf("Red Hat VEX %s: document category %q, want csaf_vex", name, d.Document.Category)
	}
	releases := map[string]string{}      // product id → RHEL major ("9")
	components := map[string]component{} // product id → package
	walk(d.ProductTree.Branches, releases, components)
	// A relationship names "component as a component of product"; its id
	// is what the statuses list.
	type pair struct{ release, comp string }
	pairs := map[string]pair{}
	for _, rel := range d.ProductTree.Relationships {
		if rel.Category != "default_component_of" {
			continue
		}
		major, ok := releases[rel.RelatesToProductReference]
		if !ok {
			continue // not mainline RHEL (EUS, OpenShift, …): other fixes
		}
		pairs[rel.FullProductName.ProductID] = pair{major, rel.ProductReference}
	}
	n := 0
	for _, v := range d.Vulnerabilities {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		id := strings.TrimSpace(v.CVE)
		if id == "" {
			continue
		}
		vuln := advisory.Vulnerability{ID: id, Summary: strings.TrimSpace(v.Title), Source: source,
			Published: parseTime(v.ReleaseDate), Modified: parseTime(d.Document.Tracking.CurrentReleaseDate)}
		for _, note := range v.Notes {
			if note.Category == "description" {
				vuln.Details = text.Truncate(strings.TrimSpace(note.Text), maxDetails)
			}
		}
		for _, t := range v.Threats {
			if t.Category == "impact" {
				if s, err := model.ParseSeverity(t.Details); err == nil && s != model.SeverityUnknown {
					vuln.Severity, vuln.SeveritySource = s, "redhat"
				}
			}
		}
		for _, s := range v.Scores {
			for _, vec := range []string{vecOf(s.CVSSv3), vecOf(s.CVSSv2)} {
				if vec == "" {
					continue
				}
				if c, err := cvss.Score(vec); err == nil && !slices.ContainsFunc(vuln.CVSS, func(x model.CVSS) bool { return x.Vector == c.Vector }) {
					c.Source = "redhat"
					vuln.CVSS = append(vuln.CVSS, c)
				}
			}
		}
		for _, ref := range v.References {
			if len(vuln.References) < 10 && ref.URL != "" {
				vuln.References = append(vuln.References, ref.URL)
			}
		}
		// Remediation details of unfixed products: "Will not fix", "Out of
		// support scope", "Affected", "Deferred"/"Fix deferred".
		why := map[string]string{}
		for _, rem := range v.Remediations {
			for _, pid := range rem.ProductIDs {
				if rem.Category == "no_fix_planned" || rem.Category == "none_available" {
					why[pid] = strings.TrimSpace(rem.Details)
				}
			}
		}
		var affs []advisory.Affected
		seen := map[string]bool{}
		add := func(a advisory.Affected) {
			key := a.Ecosystem + "\x00" + a.Package + "\x00" + string(a.Status) + "\x00" + a.Note
			for _, r := range a.Ranges {
				for _, e := range r.Events {
					key += "\x00" + e.Fixed
				}
			}
			if !seen[key] {
				seen[key] = true
				affs = append(affs, a)
			}
		}
		base := func(pid string) (advisory.Affected, component, bool) {
			p, ok := pairs[pid]
			if !ok {
				return advisory.Affected{}, component{}, false
			}
			c, ok := components[p.comp]
			if !ok || c.name == "" {
				return advisory.Affected{}, component{}, false
			}
			return advisory.Affected{VulnID: id, Ecosystem: advisory.EcoRedHat + ":" + p.release, Package: c.name, Source: source}, c, true
		}
		for _, pid := range v.ProductStatus.Fixed {
			a, c, ok := base(pid)
			if !ok || c.version == "" {
				continue
			}
			a.Ranges = []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: c.version}}}}
			add(a)
		}
		for _, pid := range v.ProductStatus.KnownAffected {
			a, _, ok := base(pid)
			if !ok {
				continue
			}
			a.Status, a.Note = affectedStatus(why[pid])
			add(a)
		}
		for _, pid := range v.ProductStatus.KnownNotAffected {
			a, _, ok := base(pid)
			if !ok {
				continue
			}
			a.Status = advisory.AffectedNot
			add(a)
		}
		if err := sink.PutVulnerability(ctx, vuln); err != nil {
			return n, fmt.Errorf("store %s from %s: %w", id, name, err)
		}
		for _, a := range affs {
			if err := sink.PutAffected(ctx, a); err != nil {
				return n, fmt.Errorf("store %s %s/%s from %s: %w", id, a.Ecosystem, a.Package, name, err)
			}
		}
		n++
	}
	return n, nil
}

// affectedStatus reads Red Hat's remediation details of a known-affected
// component.
func affectedStatus(details string) (advisory.AffectedStatus, string) {
	switch strings.ToLower(details) {
	case "will not fix":
		return advisory.AffectedWillNotFix, "Red Hat: will not fix"
	case "out of support scope":
		return advisory.AffectedWillNotFix, "Red Hat: out of support scope"
	case "deferred", "fix deferred":
		return advisory.AffectedUnfixed, "Red Hat: fix deferred"
	}
	return advisory.AffectedUnfixed, ""
}

type vector struct {
	VectorString string `json:"vectorString"`
}

func vecOf(s *vector) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(s.VectorString)
}

// mainlineCPE matches the CPEs of mainline RHEL products (BaseOS,
// AppStream, CRB, the OS itself): cpe:/o:redhat:enterprise_linux:9::baseos,
// or with the minor release ("enterprise_linux:9.6") as Red Hat's reworked
// VEX names products. EUS, AUS, E4S and TUS streams (rhel_eus, …) carry
// fixes for older minor releases and are left out: a container image
// tracks the mainline.
var mainlineCPE = regexp.MustCompile(`^cpe:/[ao]:redhat:enterprise_linux:(\d+)(?:\.\d+)?(?::|$)`)

// walk collects mainline products (by CPE) and components (by purl).
func walk(bs []branch, releases map[string]string, components map[string]component) {
	for _, b := range bs {
		if p := b.Product; p != nil && p.ProductID != "" {
			if m := mainlineCPE.FindStringSubmatch(p.Helper.CPE); m != nil {
				releases[p.ProductID] = m[1]
			} else if c, ok := fromPURL(p.Helper.PURL); ok {
				components[p.ProductID] = c
			}
		}
		walk(b.Branches, releases, components)
	}
}

// fromPURL reads "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=src&epoch=1"
// and, for module streams, the rpmmod qualifier
// ("nodejs:18:9040020240807145403:rhel9"). Only source and unqualified
// (unfixed) components count: binary ones repeat their source's status.
func fromPURL(s string) (component, bool) {
	if !strings.HasPrefix(s, "pkg:rpm/") {
		return component{}, false
	}
	u, err := packageurl.FromString(s)
	if err != nil || u.Type != "rpm" || u.Name == "" {
		return component{}, false
	}
	q := u.Qualifiers.Map()
	if arch := q["arch"]; arch != "" && arch != "src" {
		return component{}, false
	}
	c := component{name: u.Name, version: u.Version}
	if c.version != "" {
		if e := q["epoch"]; e != "" && e != "0" {
			c.version = e + ":" + c.version
		}
	}
	if mod := q["rpmmod"]; mod != "" {
		if m, err := url.QueryUnescape(mod); err == nil {
			mod = m
		}
		parts := strings.SplitN(mod, ":", 3)
		if len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
			c.name = parts[0] + ":" + parts[1] + "::" + c.name
		}
	}
	return c, true
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
