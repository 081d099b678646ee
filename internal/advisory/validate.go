package advisory

import (
	"errors"
	"fmt"
	"strings"
)

// distroEcosystems must name their release ("Debian:12").
var distroEcosystems = []string{EcoDebian, EcoUbuntu, EcoAlpine}

// Validate reports what makes a record unusable; loaders must never emit
// one that fails it.
func (v Vulnerability) Validate() error {
	switch {
	case strings.TrimSpace(v.ID) == "":
		return errors.New("vulnerability without id")
	case v.Source == "":
		return fmt.Errorf("vulnerability %s without source", v.ID)
	}
	return nil
}

// Validate reports what makes an entry unusable for matching.
func (a Affected) Validate() error {
	switch {
	case a.VulnID == "":
		return errors.New("affected entry without vulnerability id")
	case a.Package == "":
		return fmt.Errorf("%s: affected entry without package", a.VulnID)
	case a.Ecosystem == "":
		return fmt.Errorf("%s %s: affected entry without ecosystem", a.VulnID, a.Package)
	}
	for _, d := range distroEcosystems {
		if a.Ecosystem == d || a.Ecosystem == d+":" {
			return fmt.Errorf("%s %s: ecosystem %q names no release", a.VulnID, a.Package, a.Ecosystem)
		}
	}
	for _, r := range a.Ranges {
		if len(r.Events) == 0 {
			return fmt.Errorf("%s %s: range without events", a.VulnID, a.Package)
		}
	}
	if len(a.Ranges) == 0 && len(a.Versions) == 0 && len(a.AffectedConstraints) == 0 &&
		len(a.UnaffectedConstraints) == 0 && a.Status == AffectedRanges {
		return fmt.Errorf("%s %s: says nothing about which versions are affected", a.VulnID, a.Package)
	}
	return nil
}
