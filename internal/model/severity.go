package model

import (
	"fmt"
	"strings"
)

// Severity is one scale for every capability: critical > high > medium > low,
// plus info (assessments) and unknown (advisories that carry no rating).
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
	SeverityUnknown  Severity = "unknown"
)

// Severities lists the scale from most to least severe.
var severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo, SeverityUnknown}

// AllSeverities returns the scale from most to least severe.
func AllSeverities() []Severity { return append([]Severity(nil), severities...) }

// Rank orders severities: higher is worse. Unknown ranks below low so that a
// threshold of "low" does not silently include unrated advisories; callers
// that want them ask for "unknown" explicitly.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 5
	case SeverityHigh:
		return 4
	case SeverityMedium:
		return 3
	case SeverityLow:
		return 2
	case SeverityInfo:
		return 1
	default:
		return 0
	}
}

// AtLeast reports whether s is at or above threshold.
func (s Severity) AtLeast(threshold Severity) bool { return s.Rank() >= threshold.Rank() }

// ParseSeverity accepts any case and the common vendor spellings
// ("moderate", "important", "negligible", "unimportant").
func ParseSeverity(v string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "critical":
		return SeverityCritical, nil
	case "high", "important":
		return SeverityHigh, nil
	case "medium", "moderate":
		return SeverityMedium, nil
	case "low", "negligible", "unimportant", "minor":
		return SeverityLow, nil
	case "info", "informational", "none":
		return SeverityInfo, nil
	case "unknown", "", "not yet assigned", "unassigned":
		return SeverityUnknown, nil
	}
	return SeverityUnknown, fmt.Errorf("unknown severity %q", v)
}

// SeverityFromScore maps a CVSS base score onto the scale with NVD's ranges.
func SeverityFromScore(score float64) Severity {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score >= 0.1:
		return SeverityLow
	case score == 0:
		return SeverityInfo
	}
	return SeverityUnknown
}
