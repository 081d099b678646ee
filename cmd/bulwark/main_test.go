package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// run executes the CLI in-process and returns stdout and the exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	code := exitCode(err)
	if code == 1 {
		t.Logf("bulwark %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), code
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture writes a tiny feed folder and a root filesystem: a Debian 12
// system whose libc6 (source glibc) is older than a synthetic fix, plus an
// npm app with an old lodash.
func fixture(t *testing.T) (cache, feeds, root string) {
	dir := t.TempDir()
	cache, feeds, root = filepath.Join(dir, "cache"), filepath.Join(dir, "feeds"), filepath.Join(dir, "root")
	write(t, filepath.Join(feeds, "debian", "DEBIAN-CVE-2099-0001.json"), `{
  "schema_version": "1.6.0", "id": "DEBIAN-CVE-2099-0001", "aliases": ["CVE-2099-0001"],
  "summary": "synthetic glibc overflow", "modified": "2099-01-01T00:00:00Z",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u99"}]}]}],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
}`)
	write(t, filepath.Join(feeds, "ghsa", "GHSA-test-0000-0001.json"), `{
  "schema_version": "1.6.0", "id": "GHSA-test-0000-0001", "aliases": ["CVE-2099-0002"],
  "summary": "synthetic lodash prototype pollution", "modified": "2099-01-01T00:00:00Z",
  "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.17.5"}]}]}],
  "database_specific": {"severity": "LOW"}
}`)
	write(t, filepath.Join(feeds, "notes.txt"), "not a feed\n")
	write(t, filepath.Join(root, "etc", "os-release"), "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n")
	write(t, filepath.Join(root, "var", "lib", "dpkg", "status"), `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
`)
	write(t, filepath.Join(root, "app", "package-lock.json"), `{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"app","version":"1.0.0"},"node_modules/lodash":{"version":"4.17.4"}}}`)
	return cache, feeds, root
}

func TestCLIScanEndToEnd(t *testing.T) {
	cache, feeds, root := fixture(t)
	out, code := run(t, "--cache-dir", cache, "db", "update", "--source", feeds)
	if code != 0 {
		t.Fatalf("db update exit %d: %s", code, out)
	}
	if !strings.Contains(out, "notes.txt") {
		t.Errorf("db update should name the skipped file notes.txt:\n%s", out)
	}
	out, code = run(t, "--cache-dir", cache, "db", "status")
	if code != 0 || !strings.Contains(out, "Debian:12") || !strings.Contains(out, "npm") {
		t.Errorf("db status exit %d, want Debian:12 and npm counts:\n%s", code, out)
	}

	out, code = run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "-f", "json")
	if code != 0 {
		t.Fatalf("scan exit %d", code)
	}
	var rep model.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("scan JSON: %v\n%s", err, out)
	}
	if rep.SchemaVersion != model.SchemaVersion {
		t.Errorf("schema_version %q", rep.SchemaVersion)
	}
	byID := map[string]model.Finding{}
	for _, f := range rep.Findings {
		byID[f.ID] = f
	}
	glibc, ok := byID["CVE-2099-0001"]
	if !ok {
		t.Fatalf("no CVE-2099-0001 finding; findings: %+v", rep.Findings)
	}
	if glibc.Package.Name != "libc6" || glibc.FixedVersion != "2.36-9+deb12u99" || glibc.Severity != model.SeverityCritical || glibc.Status != model.StatusFixed {
		t.Errorf("glibc finding = %s %s fixed=%s sev=%s status=%s", glibc.Package.Name, glibc.InstalledVersion, glibc.FixedVersion, glibc.Severity, glibc.Status)
	}
	if !strings.Contains(strings.Join(glibc.Aliases, ","), "DEBIAN-CVE-2099-0001") {
		t.Errorf("aliases %v should keep the Debian id", glibc.Aliases)
	}
	if lodash, ok := byID["CVE-2099-0002"]; !ok || lodash.Severity != model.SeverityLow {
		t.Errorf("lodash finding = %+v, want low (GHSA vendor severity beats nothing else here)", lodash)
	}
	if rep.Summary.Healthy {
		t.Error("report with a critical finding is healthy")
	}

	// The CI gate: unhealthy → the requested exit code.
	if _, code = run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "--exit-code", "3", "-f", "json"); code != 3 {
		t.Errorf("--exit-code 3 on an unhealthy image gave exit %d", code)
	}
	// Severity filter: only low findings remain, and a low finding is below
	// the default medium threshold, so the image is healthy.
	out, code = run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "--severity", "low", "--exit-code", "3", "-f", "json")
	if code != 0 {
		t.Errorf("--severity low --exit-code 3 gave exit %d, want 0 (healthy at threshold medium)", code)
	}
	rep = model.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Severity != model.SeverityLow {
			t.Errorf("--severity low kept a %s finding %s", f.Severity, f.ID)
		}
	}
	// Ignore file: the critical finding becomes exempt, the image healthy.
	ign := filepath.Join(t.TempDir(), "ignore.yaml")
	write(t, ign, "ignore:\n  - id: CVE-2099-0001\n    reason: not reachable in our build\n    expires: 2999-01-01\n")
	out, code = run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "--ignore-file", ign, "--exit-code", "3", "-f", "json")
	if code != 0 {
		t.Errorf("ignored critical finding still fails the gate (exit %d)", code)
	}
	rep = model.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Suppressed != 1 {
		t.Errorf("suppressed = %d, want 1", rep.Summary.Suppressed)
	}
	// Table output names the package and the upgrade.
	out, _ = run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root)
	for _, want := range []string{"libc6", "CVE-2099-0001", "2.36-9+deb12u99", "UNHEALTHY"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
}

func TestCLIUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "image"},                               // no image
		{"scan", "image", "a", "--input", "b"},          // two images
		{"scan", "image", "--rootfs", ".", "-f", "xml"}, // bad format
		{"scan", "image", "--rootfs", ".", "--severity", "severe"},
		{"scan", "image", "--no-such-flag"},
	} {
		if _, code := run(t, append([]string{"--cache-dir", t.TempDir()}, args...)...); code != 2 {
			t.Errorf("bulwark %v: exit %d, want 2 (usage)", args, code)
		}
	}
	// A missing DB is an error that says what to do.
	cmd := newRootCmd()
	cmd.SetArgs([]string{"--cache-dir", t.TempDir(), "scan", "image", "--rootfs", "."})
	cmd.SetOut(new(bytes.Buffer))
	err := cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "db update") {
		t.Errorf("scan without a DB: %v, want a hint to run db update", err)
	}
}

// TestCLIEndOfLifeDistro: an image on a release past its end of life says so.
func TestCLIEndOfLifeDistro(t *testing.T) {
	cache, feeds, root := fixture(t)
	write(t, filepath.Join(root, "etc", "os-release"), "PRETTY_NAME=\"Debian GNU/Linux 9 (stretch)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"9\"\nVERSION_CODENAME=stretch\nID=debian\n")
	if _, code := run(t, "--cache-dir", cache, "db", "update", "--source", feeds); code != 0 {
		t.Fatalf("db update exit %d", code)
	}
	out, code := run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "-f", "json")
	if code != 0 {
		t.Fatalf("scan exit %d", code)
	}
	var rep model.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Distro == nil || !rep.Distro.EOL || rep.Distro.EOLDate == "" {
		t.Fatalf("distro = %+v, want Debian 9 flagged end-of-life", rep.Distro)
	}
	found := false
	for _, w := range rep.Warnings {
		if w.Stage == "os" && strings.Contains(w.Message, "end of life") {
			found = true
		}
	}
	if !found {
		t.Errorf("no end-of-life warning: %+v", rep.Warnings)
	}
	// The feeds hold nothing for Debian 9: not assessed, and end of life all the same.
	if rep.Summary.Verdict != model.VerdictNotAssessed {
		t.Errorf("verdict %q, want not-assessed (no Debian:9 advisories in the DB)", rep.Summary.Verdict)
	}
	// Debian 9 advisories live under Debian:9: the Debian:12 record must not match.
	for _, f := range rep.Findings {
		if f.ID == "CVE-2099-0001" {
			t.Errorf("a Debian:12 advisory matched a Debian 9 system")
		}
	}
}

// TestCLINotAssessedGate: a real RPM database under RHEL 9's os-release,
// with a DB that holds no Red Hat advisories, fails the --exit-code gate
// (a gate must not pass what it could not judge) unless
// --allow-not-assessed says so by name; the table says why.
func TestCLINotAssessedGate(t *testing.T) {
	cache, feeds, _ := fixture(t)
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(testenv.Shared(t, "fixtures/pkgdb/rpm/cbl-mariner-2.0"))); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "etc", "os-release"), "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n")
	if _, code := run(t, "--cache-dir", cache, "db", "update", "--source", feeds); code != 0 {
		t.Fatalf("db update exit %d", code)
	}
	out, code := run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "--exit-code", "4")
	if code != 4 {
		t.Errorf("--exit-code 4 on a not-assessed image gave exit %d", code)
	}
	for _, want := range []string{"Result: NOT ASSESSED (no advisories for Red Hat 9 in the DB", "Red Hat:9 (129 packages): not assessed", "bulwark db update --source"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "HEALTHY") && !strings.Contains(out, "NOT ASSESSED") {
		t.Errorf("table calls the image healthy:\n%s", out)
	}
	if _, code := run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root, "--exit-code", "4", "--allow-not-assessed"); code != 0 {
		t.Errorf("--allow-not-assessed gave exit %d, want 0", code)
	}
	if _, code := run(t, "--cache-dir", cache, "scan", "image", "--rootfs", root); code != 0 {
		t.Errorf("without --exit-code: exit %d, want 0", code)
	}
	// db status names what the DB covers, in table and JSON.
	out, code = run(t, "--cache-dir", cache, "db", "status", "--format", "json")
	if code != 0 {
		t.Fatalf("db status --format json exit %d", code)
	}
	var st struct {
		Coverage []struct {
			Ecosystem string `json:"ecosystem"`
			Sources   []struct {
				Name string `json:"name"`
			} `json:"sources"`
		} `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("db status JSON: %v\n%s", err, out)
	}
	var ecos []string
	for _, c := range st.Coverage {
		ecos = append(ecos, c.Ecosystem)
		if len(c.Sources) == 0 {
			t.Errorf("coverage of %s names no source", c.Ecosystem)
		}
	}
	if strings.Join(ecos, ",") != "Debian:12,npm" {
		t.Errorf("db status coverage %v, want Debian:12 and npm", ecos)
	}
	out, _ = run(t, "--cache-dir", cache, "db", "status")
	if !strings.Contains(out, "COVERS") || !strings.Contains(out, "Debian:12") {
		t.Errorf("db status table lacks coverage:\n%s", out)
	}
	if _, code := run(t, "--cache-dir", cache, "db", "status", "--format", "xml"); code != 2 {
		t.Errorf("db status --format xml: exit %d, want 2", code)
	}
}
