// Package advisory is the vulnerability-data model shared by the feed
// loaders (which produce it), the vulnerability DB (which stores it) and the
// matcher (which reads it). It follows OSV closely, because OSV can express
// every feed Bulwark imports; distro statuses that OSV flattens (unfixed,
// won't fix, not affected) are kept explicitly.
package advisory

import (
	"context"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Ecosystem names as used in OSV. Distro ecosystems carry the release:
// "Debian:12", "Ubuntu:22.04", "Alpine:v3.19".
const (
	EcoGo        = "Go"
	EcoNPM       = "npm"
	EcoPyPI      = "PyPI"
	EcoMaven     = "Maven"
	EcoCrates    = "crates.io"
	EcoRubyGems  = "RubyGems"
	EcoPackagist = "Packagist"
	EcoNuGet     = "NuGet"
	EcoDebian    = "Debian"
	EcoUbuntu    = "Ubuntu"
	EcoAlpine    = "Alpine"
	EcoKube      = "Kubernetes"
	// EcoRedHat is followed by the RHEL major release ("Red Hat:9"), as
	// the CSAF VEX loader writes it from Red Hat's product CPEs.
	EcoRedHat = "Red Hat"
)

// Vulnerability is what is known about one vulnerability id, regardless of
// which packages it affects.
type Vulnerability struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	// Details is trimmed by loaders to a few hundred characters.
	Details string `json:"details,omitempty"`
	// Severity is the vendor's rating when the feed gives one (GHSA
	// database_specific.severity, Debian urgency); SeveritySource names it.
	Severity       model.Severity `json:"severity,omitempty"`
	SeveritySource string         `json:"severity_source,omitempty"`
	CVSS           []model.CVSS   `json:"cvss,omitempty"`
	References     []string       `json:"references,omitempty"`
	Published      time.Time      `json:"published,omitzero"`
	Modified       time.Time      `json:"modified,omitzero"`
	// KnownExploited comes from the CISA KEV catalogue.
	KnownExploited bool   `json:"known_exploited,omitempty"`
	KEVDateAdded   string `json:"kev_date_added,omitempty"`
	// EPSS comes from FIRST's daily scores.
	EPSS *model.EPSS `json:"epss,omitempty"`
	// Source names the feed ("osv:go-vulndb", "debian-tracker", "nvd", "kev").
	Source string `json:"source"`
}

// RangeType follows OSV.
type RangeType string

const (
	RangeEcosystem RangeType = "ECOSYSTEM"
	RangeSemver    RangeType = "SEMVER"
	RangeGit       RangeType = "GIT"
)

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Range is an OSV range.
type Range struct {
	Type   RangeType `json:"type"`
	Events []Event   `json:"events"`
}

// AffectedStatus refines an Affected entry beyond OSV.
type AffectedStatus string

const (
	// AffectedRanges: the ranges/versions decide (the OSV default).
	AffectedRanges AffectedStatus = ""
	// AffectedUnfixed: every version is affected and no fix exists yet.
	AffectedUnfixed AffectedStatus = "unfixed"
	// AffectedWillNotFix: affected, and the vendor will not fix it.
	AffectedWillNotFix AffectedStatus = "will-not-fix"
	// AffectedNot: the vendor says this release is not affected.
	AffectedNot AffectedStatus = "not-affected"
)

// Affected says which versions of one package in one ecosystem a
// vulnerability affects.
type Affected struct {
	VulnID    string `json:"vuln_id"`
	Ecosystem string `json:"ecosystem"`
	// Package is the name advisories use: source package for Debian/Ubuntu,
	// origin for Alpine, module path for Go, "group:artifact" for Maven.
	Package  string   `json:"package"`
	Ranges   []Range  `json:"ranges,omitempty"`
	Versions []string `json:"versions,omitempty"`
	// AffectedConstraints are ranges in the ecosystem's own syntax, for
	// feeds that are not event-based (npm "<=1.5.1", Composer
	// ">=2.7.0,<2.7.51"): a version is affected if it satisfies any one.
	AffectedConstraints []string `json:"affected_constraints,omitempty"`
	// UnaffectedConstraints are requirement sets (RubySec patched_versions and
	// unaffected_versions, "~> 2.2.6, >= 2.2.6.2"): when present, a version is
	// affected only if it satisfies none of them.
	UnaffectedConstraints []string       `json:"unaffected_constraints,omitempty"`
	Status                AffectedStatus `json:"status,omitempty"`
	// Severity overrides the vulnerability's for this package (distro
	// urgency per release, per-package OSV severity).
	Severity model.Severity `json:"severity,omitempty"`
	// Note carries the vendor's remark ("no DSA, minor issue").
	Note   string `json:"note,omitempty"`
	Source string `json:"source"`
}

// Sink receives what a loader reads. Loaders call it as they go, so a large
// feed never sits in memory whole. Implementations merge repeated calls for
// the same vulnerability id (a CVE seen in OSV and NVD).
type Sink interface {
	PutVulnerability(ctx context.Context, v Vulnerability) error
	PutAffected(ctx context.Context, a Affected) error
}
