package match

import (
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Summarize gives the verdict over findings: counts of active findings,
// suppressed ones, health against threshold, and the package upgrades that
// fix the most, known- and likely-exploited findings first, then by severity.
func Summarize(findings []model.Finding, packages int, threshold model.Severity) model.Summary {
	s := model.Summary{Healthy: true, Threshold: threshold, Packages: packages}
	for _, f := range findings {
		if f.Status == model.StatusNotAffected || f.Status == model.StatusExempt {
			s.Suppressed++
			continue
		}
		s.Counts.Add(f.Severity)
		if f.Severity.AtLeast(threshold) {
			s.Healthy = false
		}
	}
	for _, u := range Upgrades(findings) {
		s.Upgrades = append(s.Upgrades, u.Upgrade)
	}
	return s
}

// weight makes one critical outweigh any number of lower findings in
// practice (a package rarely has 10 highs), and puts a finding attackers
// are known to exploit (KEV), then one they likely will (EPSS >= 10%),
// above any severity: those upgrades come first.
func weight(f model.Finding) int {
	w := severityWeight(f.Severity)
	if f.KnownExploited {
		w += 1000000
	}
	if f.EPSS.LikelyExploited() {
		w += 100000
	}
	return w
}

func severityWeight(s model.Severity) int {
	switch s {
	case model.SeverityCritical:
		return 10000
	case model.SeverityHigh:
		return 1000
	case model.SeverityMedium:
		return 100
	case model.SeverityLow:
		return 10
	}
	return 1
}
