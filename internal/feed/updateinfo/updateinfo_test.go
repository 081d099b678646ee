package updateinfo

import (
	"flag"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden")

// TestLoad: Amazon Linux 2023 and Oracle Linux 8 updateinfo (written in
// the format of their repositories' updateinfo.xml) give one fixed entry
// per binary package in the release the id or the .elN tag names; bug
// fixes and other vendors' updates add nothing.
func TestLoad(t *testing.T) {
	l := Loader()
	rec := feedtest.Golden(t, l, "testdata/golden/updateinfo.json", *updateGolden, "testdata/al2023-updateinfo.xml", "testdata/ol8-updateinfo.xml")
	got := map[string]string{}
	for _, a := range rec.Affected {
		got[a.VulnID+" "+a.Ecosystem+" "+a.Package] = a.Ranges[0].Events[1].Fixed
	}
	want := map[string]string{
		"ALAS2023-2024-577 Amazon Linux:2023 libuuid":    "2.37.4-1.amzn2023.0.4",
		"ALAS2023-2024-577 Amazon Linux:2023 util-linux": "2.37.4-1.amzn2023.0.4",
		"ELSA-2024-3347 Oracle Linux:8 libuuid":          "2.32.1-46.0.1.el8",
		"ELSA-2024-3347 Oracle Linux:8 util-linux":       "2.32.1-46.0.1.el8",
	}
	if len(got) != len(want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s fixed %q, want %q", k, got[k], v)
		}
	}
	if n := l.(interface{ Tallies() map[string]int }).Tallies()[TallyOtherVendor]; n != 1 {
		t.Errorf("other-vendor tally %d, want 1 (the RHSA)", n)
	}
	for _, v := range rec.Vulnerabilities {
		if len(v.Aliases) != 1 || v.Aliases[0] != "CVE-2024-28085" || v.Severity == "" {
			t.Errorf("%s: aliases %v severity %q", v.ID, v.Aliases, v.Severity)
		}
	}
}

func TestBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"truncated": `<updates><update type="security"><id>ALAS2-1</id>`,
		"no root":   `<other/>`,
		"bad xml":   `<updates><update></updates>`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Loader().Load(t.Context(), name, strings.NewReader(in), advisory.NewMemory()); err == nil {
				t.Error("no error")
			}
		})
	}
}
