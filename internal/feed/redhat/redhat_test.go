package redhat

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
	"github.com/bulwarkdev/bulwark/internal/model"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestLoad: Red Hat VEX documents written in the published format (one
// per CVE) give per-release statuses: RHEL 9 fixed, RHEL 8 will-not-fix,
// EUS streams left out, a module stream filed under its stream.
func TestLoad(t *testing.T) {
	files, _ := filepath.Glob("testdata/cve-*.json")
	rec := feedtest.Golden(t, VEX(), "testdata/golden/vex.json", *update, files...)
	type key struct{ id, eco, pkg string }
	got := map[key]advisory.Affected{}
	for _, a := range rec.Affected {
		got[key{a.VulnID, a.Ecosystem, a.Package}] = a
	}
	fixed := func(a advisory.Affected) string {
		if len(a.Ranges) == 1 && len(a.Ranges[0].Events) == 2 {
			return a.Ranges[0].Events[1].Fixed
		}
		return ""
	}
	cases := []struct {
		k      key
		status advisory.AffectedStatus
		fixed  string
		note   string
	}{
		{key{"CVE-2023-5678", "Red Hat:9", "openssl"}, "", "1:3.0.7-25.el9_3", ""},
		{key{"CVE-2023-5678", "Red Hat:8", "openssl"}, advisory.AffectedWillNotFix, "", "Red Hat: will not fix"},
		{key{"CVE-2023-5678", "Red Hat:8", "compat-openssl10"}, advisory.AffectedNot, "", ""},
		{key{"CVE-2024-28085", "Red Hat:8", "util-linux"}, "", "2.32.1-46.el8", ""},
		{key{"CVE-2024-28085", "Red Hat:9", "util-linux"}, advisory.AffectedUnfixed, "", ""},
		{key{"CVE-2024-22020", "Red Hat:8", "nodejs:18::nodejs"}, "", "1:18.20.4-1.module+el8.10.0+22202+761b9a65", ""},
		{key{"CVE-2024-22020", "Red Hat:8", "nodejs:20::nodejs"}, advisory.AffectedUnfixed, "", "Red Hat: fix deferred"},
	}
	for _, c := range cases {
		a, ok := got[c.k]
		if !ok {
			t.Errorf("%v: missing", c.k)
			continue
		}
		if a.Status != c.status || fixed(a) != c.fixed || a.Note != c.note {
			t.Errorf("%v: status %q fixed %q note %q; want %q %q %q", c.k, a.Status, fixed(a), a.Note, c.status, c.fixed, c.note)
		}
	}
	if len(rec.Affected) != len(cases) {
		t.Errorf("%d entries, want %d (the EUS fix and binary components must not add any)", len(rec.Affected), len(cases))
	}
	for _, v := range rec.Vulnerabilities {
		if v.ID == "CVE-2024-28085" && (v.Severity != model.SeverityMedium || v.SeveritySource != "redhat" || len(v.CVSS) != 1) {
			t.Errorf("severity of %s: %+v", v.ID, v)
		}
	}
}

// TestBadInput: broken documents are errors for that file, never a panic.
func TestBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"truncated":     `{"document": {"category": "csaf_vex"`,
		"wrong kind":    `{"document": {"category": "csaf_security_advisory"}}`,
		"not an object": `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := VEX().Load(t.Context(), name, strings.NewReader(in), advisory.NewMemory()); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestMainlineCPE(t *testing.T) {
	for cpe, want := range map[string]string{
		"cpe:/o:redhat:enterprise_linux:9::baseos":    "9",
		"cpe:/a:redhat:enterprise_linux:8::appstream": "8",
		"cpe:/o:redhat:enterprise_linux:8":            "8",
		"cpe:/o:redhat:enterprise_linux:9.6::baseos":  "9",
		"cpe:/o:redhat:rhel_eus:9.4::baseos":          "",
		"cpe:/a:redhat:openshift:4.15::el9":           "",
		"cpe:/o:redhat:enterprise_linux:9x":           "",
	} {
		got := ""
		if m := mainlineCPE.FindStringSubmatch(cpe); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%s: %q, want %q", cpe, got, want)
		}
	}
}
