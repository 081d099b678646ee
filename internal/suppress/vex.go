package suppress

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"
)

// maxStatements bounds one VEX document.
const maxStatements = 100_000

// VEX is a loaded OpenVEX document.
type VEX struct {
	source string
	doc    *vex.VEX
}

// LoadVEX reads an OpenVEX JSON document.
func LoadVEX(path string) (*VEX, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("read VEX %s: %w", path, err)
	}
	v, err := parseVEX(data, path)
	if err != nil {
		return nil, fmt.Errorf("parse VEX %s: %w", path, err)
	}
	return v, nil
}

func parseVEX(data []byte, source string) (*VEX, error) {
	doc, err := vex.Parse(data)
	if err != nil {
		return nil, err
	}
	if doc.Context == "" || !strings.Contains(doc.Context, "openvex") {
		return nil, fmt.Errorf("not an OpenVEX document (@context %q)", doc.Context)
	}
	if len(doc.Statements) > maxStatements {
		return nil, fmt.Errorf("more than %d statements", maxStatements)
	}
	for i, s := range doc.Statements {
		if !s.Status.Valid() {
			return nil, fmt.Errorf("statement %d: unknown status %q", i+1, s.Status)
		}
	}
	return &VEX{source: source, doc: doc}, nil
}

// Apply marks findings not-affected when the latest statement (by
// timestamp) about their vulnerability (id or alias) and their image or
// package says not_affected or fixed. affected and under_investigation
// keep the finding. It returns a new slice.
func (v *VEX) Apply(findings []model.Finding, subject model.ImageInfo) []model.Finding {
	out := slices.Clone(findings)
	image := imageIDs(subject)
	docTime := time.Time{}
	if v.doc.Timestamp != nil {
		docTime = *v.doc.Timestamp
	}
	for i := range out {
		f := &out[i]
		if f.Status == model.StatusExempt || f.Status == model.StatusNotAffected {
			continue
		}
		var best *vex.Statement
		var bestTime time.Time
		for j := range v.doc.Statements {
			s := &v.doc.Statements[j]
			if !vulnMatches(s.Vulnerability, f) || !productMatches(s.Products, image, f.Package.PURL) {
				continue
			}
			t := docTime
			if s.LastUpdated != nil {
				t = *s.LastUpdated
			} else if s.Timestamp != nil {
				t = *s.Timestamp
			}
			// Later in the document wins a tie: documents append history.
			if best == nil || !t.Before(bestTime) {
				best, bestTime = s, t
			}
		}
		if best == nil {
			continue
		}
		switch best.Status {
		case vex.StatusNotAffected:
			reason := best.ImpactStatement
			if reason == "" {
				reason = best.StatusNotes
			}
			f.Status = model.StatusNotAffected
			f.Suppression = &model.Suppression{Kind: "vex", Justification: string(best.Justification), Reason: reason, Source: v.source}
		case vex.StatusFixed:
			reason := "fixed"
			if best.StatusNotes != "" {
				reason += ": " + best.StatusNotes
			}
			f.Status = model.StatusNotAffected
			f.Suppression = &model.Suppression{Kind: "vex", Reason: reason, Source: v.source}
		}
	}
	return out
}

func vulnMatches(sv vex.Vulnerability, f *model.Finding) bool {
	if sv.Matches(f.ID) {
		return true
	}
	for _, a := range f.Aliases {
		if sv.Matches(a) {
			return true
		}
	}
	return false
}

// imageIDs are the strings a VEX product may name the image by.
type imageRef struct {
	ids     []string // digests and references, exact
	digests []string // for pkg:oci purls, whose version is the digest
}

func imageIDs(s model.ImageInfo) imageRef {
	var r imageRef
	for _, d := range append([]string{s.Digest, s.ConfigDigest}, repoDigests(s.RepoDigests)...) {
		if d != "" && !slices.Contains(r.digests, d) {
			r.digests = append(r.digests, d)
		}
	}
	for _, id := range append(append([]string{s.Reference}, s.RepoTags...), s.RepoDigests...) {
		if id != "" {
			r.ids = append(r.ids, id)
		}
	}
	r.ids = append(r.ids, r.digests...)
	return r
}

// repoDigests takes "repo@sha256:…" to "sha256:…".
func repoDigests(rds []string) []string {
	var out []string
	for _, rd := range rds {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			out = append(out, d)
		}
	}
	return out
}

func (r imageRef) matches(c vex.Component) bool {
	if len(r.ids) == 0 {
		return false
	}
	for _, id := range componentIDs(c) {
		if slices.Contains(r.ids, id) {
			return true
		}
		if strings.HasPrefix(id, "pkg:oci/") {
			p, err := packageurl.FromString(id)
			if err != nil {
				continue
			}
			ver, err := url.PathUnescape(p.Version)
			if err != nil {
				ver = p.Version
			}
			if ver != "" && slices.Contains(r.digests, ver) {
				return true
			}
		}
	}
	return false
}

func componentIDs(c vex.Component) []string {
	ids := []string{c.ID}
	for _, id := range c.Identifiers {
		ids = append(ids, id)
	}
	for _, h := range c.Hashes {
		ids = append(ids, string(h))
	}
	return ids
}

// packageMatches compares purls by type, namespace, name, version and
// qualifiers as sets (the statement's qualifiers must all be present).
func packageMatches(c vex.Component, purl string) bool {
	if purl == "" {
		return false
	}
	return c.Matches(purl)
}

// productMatches: the image is the product (and no subcomponent is named,
// or one is the package), or the product or a subcomponent is the package.
func productMatches(products []vex.Product, image imageRef, purl string) bool {
	for _, p := range products {
		if image.matches(p.Component) {
			if len(p.Subcomponents) == 0 {
				return true
			}
			for _, s := range p.Subcomponents {
				if packageMatches(s.Component, purl) {
					return true
				}
			}
			continue
		}
		if packageMatches(p.Component, purl) {
			return true
		}
		for _, s := range p.Subcomponents {
			if packageMatches(s.Component, purl) {
				return true
			}
		}
	}
	return false
}

// ParseVEX reads an OpenVEX JSON document from memory (the server keeps
// the documents teams send it); source names it in suppressions.
func ParseVEX(data []byte, source string) (*VEX, error) {
	if len(data) > maxVEXBytes {
		return nil, fmt.Errorf("VEX document: more than %d bytes", maxVEXBytes)
	}
	return parseVEX(data, source)
}

// maxVEXBytes bounds one document held in memory.
const maxVEXBytes = 32 << 20

// Vulnerabilities lists the vulnerability ids (and aliases) the document
// makes statements about.
func (v *VEX) Vulnerabilities() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range v.doc.Statements {
		for _, id := range append([]string{string(s.Vulnerability.Name), s.Vulnerability.ID}, vexAliases(s.Vulnerability)...) {
			if id != "" && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

func vexAliases(sv vex.Vulnerability) []string {
	out := make([]string, 0, len(sv.Aliases))
	for _, a := range sv.Aliases {
		out = append(out, string(a))
	}
	return out
}

// Statements counts the document's statements.
func (v *VEX) Statements() int { return len(v.doc.Statements) }
