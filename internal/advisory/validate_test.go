package advisory

import "testing"

func TestValidate(t *testing.T) {
	fixed := []Range{{Type: RangeEcosystem, Events: []Event{{Introduced: "0"}, {Fixed: "1.2"}}}}
	good := Affected{VulnID: "CVE-1", Ecosystem: "Debian:12", Package: "glibc", Ranges: fixed}
	if err := good.Validate(); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	bad := map[string]Affected{
		"no id":        {Ecosystem: "npm", Package: "x", Ranges: fixed},
		"no package":   {VulnID: "CVE-1", Ecosystem: "npm", Ranges: fixed},
		"no release":   {VulnID: "CVE-1", Ecosystem: "Alpine:", Package: "x", Ranges: fixed},
		"bare distro":  {VulnID: "CVE-1", Ecosystem: "Debian", Package: "x", Ranges: fixed},
		"empty range":  {VulnID: "CVE-1", Ecosystem: "npm", Package: "x", Ranges: []Range{{Type: RangeSemver}}},
		"says nothing": {VulnID: "CVE-1", Ecosystem: "npm", Package: "x"},
	}
	for name, a := range bad {
		if a.Validate() == nil {
			t.Errorf("%s: accepted %+v", name, a)
		}
	}
	if (Affected{VulnID: "CVE-1", Ecosystem: "Debian:12", Package: "x", Status: AffectedUnfixed}).Validate() != nil {
		t.Error("an unfixed status alone is a valid statement")
	}
	if (Vulnerability{ID: "CVE-1", Source: "nvd"}).Validate() != nil || (Vulnerability{ID: "CVE-1"}).Validate() == nil || (Vulnerability{Source: "x"}).Validate() == nil {
		t.Error("vulnerability validation")
	}
}
