package suppress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func finding(id string, pkg model.Package, aliases ...string) model.Finding {
	return model.Finding{ID: id, Aliases: aliases, Status: model.StatusAffected, Package: pkg, InstalledVersion: pkg.Version}
}

var (
	zlib    = model.Package{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Type: model.TypeDeb, SourceName: "zlib", PURL: "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64"}
	lodash  = model.Package{Name: "lodash", Version: "4.17.4", Type: model.TypeNPM, PURL: "pkg:npm/lodash@4.17.4"}
	libssl  = model.Package{Name: "libssl3", Version: "3.0.11-1~deb12u2", Type: model.TypeDeb, SourceName: "openssl", PURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"}
	apt     = model.Package{Name: "apt", Version: "2.6.1", Type: model.TypeDeb}
	coreutl = model.Package{Name: "coreutils", Version: "9.1-1", Type: model.TypeDeb}
)

func TestIgnoreYAML(t *testing.T) {
	r, err := LoadIgnoreFile("testdata/ignore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := []model.Finding{
		finding("CVE-2023-45853", zlib),
		finding("CVE-2023-45853", lodash),                       // package does not match
		finding("CVE-2020-8203", lodash, "GHSA-p6mc-m468-83gw"), // by alias and purl prefix
		finding("CVE-2011-3374", apt),                           // expired entry
	}
	out, warns := r.Apply(in, now)
	tests := []struct {
		i       int
		status  model.Status
		reason  string
		expires string
	}{
		{0, model.StatusExempt, "minizip is not used", ""},
		{1, model.StatusAffected, "", ""},
		{2, model.StatusExempt, "not reachable", "2027-01-31"},
		{3, model.StatusAffected, "", ""},
	}
	for _, tt := range tests {
		f := out[tt.i]
		if f.Status != tt.status {
			t.Errorf("finding %d status %s, want %s", tt.i, f.Status, tt.status)
		}
		if tt.status == model.StatusExempt {
			s := f.Suppression
			if s == nil || s.Kind != "ignore-file" || s.Reason != tt.reason || s.Expires != tt.expires || s.Source != "testdata/ignore.yaml" {
				t.Errorf("finding %d suppression %+v", tt.i, s)
			}
		} else if f.Suppression != nil {
			t.Errorf("finding %d unexpected suppression", tt.i)
		}
	}
	if in[0].Status != model.StatusAffected {
		t.Error("Apply modified its input")
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "CVE-2011-3374") || warns[0].Stage != "suppress" {
		t.Errorf("warnings %+v", warns)
	}
	// After its expiry day the lodash entry stops applying.
	out, warns = r.Apply(in, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
	if out[2].Status != model.StatusAffected || len(warns) != 2 {
		t.Errorf("after expiry: %s, %d warnings", out[2].Status, len(warns))
	}
	// On the expiry day itself it still applies.
	out, _ = r.Apply(in, time.Date(2027, 1, 31, 23, 0, 0, 0, time.UTC))
	if out[2].Status != model.StatusExempt {
		t.Errorf("on expiry day: %s", out[2].Status)
	}
}

func TestIgnoreText(t *testing.T) {
	r, err := LoadIgnoreFile("testdata/trivyignore")
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 3 {
		t.Fatalf("entries %d", r.Len())
	}
	in := []model.Finding{
		finding("CVE-2016-2781", coreutl),
		finding("DEBIAN-1", apt, "CVE-2005-2541"),
		finding("CVE-2022-0563", apt),
		finding("CVE-2099-1", apt),
	}
	out, warns := r.Apply(in, now)
	want := []model.Status{model.StatusExempt, model.StatusExempt, model.StatusAffected, model.StatusAffected}
	for i, w := range want {
		if out[i].Status != w {
			t.Errorf("finding %d: %s, want %s", i, out[i].Status, w)
		}
	}
	if out[1].Suppression.Expires != "2027-01-31" {
		t.Errorf("expires %q", out[1].Suppression.Expires)
	}
	if len(warns) != 1 || warns[0].Subject != "CVE-2022-0563" {
		t.Errorf("warnings %+v", warns)
	}
}

func TestIgnoreErrors(t *testing.T) {
	tests := []struct {
		name, file, content, want string
	}{
		{"broken yaml", "i.yaml", "ignore:\n  - id: CVE-1\n   package: [x\n", "line"},
		{"unknown field", "i.yaml", "ignore:\n  - id: CVE-1\n    pakage: x\n", "line 3"},
		{"missing id", "i.yaml", "ignore:\n  - reason: x\n", "line 2: entry without id"},
		{"bad date", "i.yml", "ignore:\n  - id: CVE-1\n    expires: tomorrow\n", "line 2: expires"},
		{"text bad exp", "ignore", "CVE-1 exp:2027-13-01\n", "line 1"},
		{"text junk", "ignore", "CVE-1\nCVE-2 please\n", "line 2"},
		{"yaml detected by content", "bulwarkignore", "# x\nignore:\n  - {id: [}\n", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadIgnoreFile(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v, want it to mention %q and the path", err, tt.want)
			}
		})
	}
	if _, err := LoadIgnoreFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestVEX(t *testing.T) {
	v, err := LoadVEX("testdata/openvex.json")
	if err != nil {
		t.Fatal(err)
	}
	img := model.ImageInfo{Reference: "registry.example.com/app:1.0", Digest: "sha256:abc123"}
	in := []model.Finding{
		finding("CVE-2023-45853", zlib),                         // 0 image purl (digest)
		finding("CVE-2020-8203", lodash, "GHSA-p6mc-m468-83gw"), // 1 image reference + subcomponent, by alias
		finding("CVE-2020-8203", zlib, "GHSA-p6mc-m468-83gw"),   // 2 subcomponent does not match this package
		finding("CVE-2024-0001", libssl),                        // 3 package purl, qualifiers in another order
		finding("CVE-2024-0002", zlib),                          // 4 latest statement says affected
		finding("CVE-2024-0003", zlib),                          // 5 under investigation
		finding("CVE-2024-0004", zlib),                          // 6 fixed
		finding("CVE-2024-0005", zlib),                          // 7 other image
	}
	out := v.Apply(in, img)
	tests := []struct {
		status        model.Status
		justification string
		reason        string
	}{
		{model.StatusNotAffected, "vulnerable_code_not_in_execute_path", "minizip is not shipped"},
		{model.StatusNotAffected, "inline_mitigations_already_exist", "input is sanitised"},
		{model.StatusAffected, "", ""},
		{model.StatusNotAffected, "component_not_present", ""},
		{model.StatusAffected, "", ""},
		{model.StatusAffected, "", ""},
		{model.StatusNotAffected, "", "fixed: backported"},
		{model.StatusAffected, "", ""},
	}
	for i, tt := range tests {
		f := out[i]
		if f.Status != tt.status {
			t.Errorf("finding %d (%s): status %s, want %s", i, f.ID, f.Status, tt.status)
			continue
		}
		if tt.status == model.StatusNotAffected {
			s := f.Suppression
			if s == nil || s.Kind != "vex" || s.Justification != tt.justification || s.Reason != tt.reason || s.Source != "testdata/openvex.json" {
				t.Errorf("finding %d suppression %+v", i, s)
			}
		}
	}
	// Without an image identity only package statements apply.
	out = v.Apply(in, model.ImageInfo{})
	if out[0].Status != model.StatusAffected || out[3].Status != model.StatusNotAffected {
		t.Errorf("no image: %s %s", out[0].Status, out[3].Status)
	}
	// The image named by a repo digest.
	out = v.Apply(in, model.ImageInfo{RepoDigests: []string{"registry.example.com/app@sha256:abc123"}})
	if out[0].Status != model.StatusNotAffected {
		t.Errorf("repo digest: %s", out[0].Status)
	}
}

func TestVEXErrors(t *testing.T) {
	for name, content := range map[string]string{
		"not json":    "{",
		"not openvex": `{"statements": []}`,
		"bad status":  `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "maybe"}]}`,
		"wrong shape": `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": {"a": 1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "vex.json")
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadVEX(p); err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v", err)
			}
		})
	}
}
