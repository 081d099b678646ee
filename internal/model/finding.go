package model

import "time"

// Status of a finding.
type Status string

const (
	StatusFixed       Status = "fixed"        // a fixed version exists
	StatusAffected    Status = "affected"     // affected, no fix released yet
	StatusWillNotFix  Status = "will-not-fix" // vendor decided not to fix (ignored, EOL, no-dsa minor)
	StatusNotAffected Status = "not-affected" // suppressed by VEX
	StatusExempt      Status = "exempt"       // suppressed by an ignore-file entry
)

// CVSS is one CVSS rating of a vulnerability.
type CVSS struct {
	Version string  `json:"version"` // "2.0", "3.0", "3.1", "4.0"
	Vector  string  `json:"vector"`
	Score   float64 `json:"score"`
	Source  string  `json:"source,omitempty"` // nvd, ghsa, debian, …
}

// EPSS is one day's Exploit Prediction Scoring System score of a CVE.
type EPSS struct {
	Score      float64 `json:"score"`      // probability of exploitation in 30 days, 0–1
	Percentile float64 `json:"percentile"` // share of CVEs scored lower, 0–1
	Date       string  `json:"date,omitempty"`
}

// LikelyExploited is FIRST's commonly used cut-off: a 10% or higher
// probability of exploitation in the next 30 days.
func (e *EPSS) LikelyExploited() bool { return e != nil && e.Score >= 0.1 }

// Finding is a vulnerability in one package of an image.
type Finding struct {
	ID             string   `json:"id"`
	Aliases        []string `json:"aliases,omitempty"`
	Title          string   `json:"title,omitempty"`
	Severity       Severity `json:"severity"`
	SeveritySource string   `json:"severity_source,omitempty"`
	CVSS           []CVSS   `json:"cvss,omitempty"`
	KnownExploited bool     `json:"known_exploited,omitempty"`
	// KEVDateAdded is when CISA listed it as exploited (YYYY-MM-DD).
	KEVDateAdded string `json:"kev_date_added,omitempty"`
	// EPSS is FIRST's estimate that the vulnerability is exploited in the
	// next 30 days.
	EPSS             *EPSS    `json:"epss,omitempty"`
	Status           Status   `json:"status"`
	Package          Package  `json:"package"`
	InstalledVersion string   `json:"installed_version"`
	FixedVersion     string   `json:"fixed_version,omitempty"`
	Remediation      string   `json:"remediation"`
	References       []string `json:"references,omitempty"`
	// DataSources name the feeds whose records produced the finding.
	DataSources []string `json:"data_sources,omitempty"`
	// Suppression explains a not-affected or exempt status.
	Suppression *Suppression `json:"suppression,omitempty"`
	Published   *time.Time   `json:"published,omitempty"`
}

// Suppression records why a finding does not count.
type Suppression struct {
	Kind          string `json:"kind"` // "vex" or "ignore-file"
	Reason        string `json:"reason,omitempty"`
	Justification string `json:"justification,omitempty"`
	Expires       string `json:"expires,omitempty"`
	Source        string `json:"source,omitempty"` // the file it came from
}

// Counts holds the number of active findings per severity.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
	Total    int `json:"total"`
}

// Add counts one finding of severity s.
func (c *Counts) Add(s Severity) {
	switch s {
	case SeverityCritical:
		c.Critical++
	case SeverityHigh:
		c.High++
	case SeverityMedium:
		c.Medium++
	case SeverityLow:
		c.Low++
	default:
		c.Unknown++
	}
	c.Total++
}

// Upgrade is one package upgrade that fixes some findings.
type Upgrade struct {
	Package    string      `json:"package"`
	Type       PackageType `json:"type"`
	From       string      `json:"from"`
	To         string      `json:"to"`
	Fixes      []string    `json:"fixes"` // finding ids, sorted
	Layer      *Layer      `json:"layer,omitempty"`
	Path       string      `json:"path,omitempty"`
	FixesCount int         `json:"fixes_count"`
}
