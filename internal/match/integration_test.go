package match

import (
	"context"
	"encoding/json"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/debian"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/version"
)

// shared is the sibling data folder of the module root.
const shared = "../../../shared"

func needShared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(shared, rel)
	if _, err := os.Stat(p); err != nil {
		testenv.Skipf(t, "needs ../shared/%s (real vulnerability data): %v", rel, err)
	}
	return p
}

// loadDebianSample loads vuln-list-debian JSON files with the Debian loader.
func loadDebianSample(t testing.TB, db *advisory.Memory) {
	t.Helper()
	dir := needShared(t, "vulndata/debian/vuln-list-debian-sample/tracker")
	l := debian.VulnList()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := l.Load(context.Background(), path, f, db); err != nil {
			t.Errorf("load %s: %v", path, err)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("loaded only %d Debian files", n)
	}
}

// loadAlpineSample decodes vuln-list's per-package secdb JSON: each
// secfixes key is the fixed version of its CVEs; "0" means never affected.
func loadAlpineSample(t testing.TB, db *advisory.Memory, release string) {
	t.Helper()
	dir := needShared(t, "vulndata/alpine/vuln-list-alpine-sample/"+release+"/main")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no alpine files in %s: %v", dir, err)
	}
	ctx := context.Background()
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Name          string              `json:"name"`
			Secfixes      map[string][]string `json:"secfixes"`
			DistroVersion string              `json:"distroversion"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for ver, ids := range doc.Secfixes {
			for _, id := range ids {
				a := advisory.Affected{VulnID: id, Ecosystem: "Alpine:" + doc.DistroVersion, Package: doc.Name, Source: "alpine-secdb"}
				if ver == "0" {
					a.Status = advisory.AffectedNot
				} else {
					a.Ranges = []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: ver}}}}
				}
				_ = db.PutAffected(ctx, a)
			}
		}
	}
}

func findingIndex(fs []model.Finding) map[string]model.Finding {
	out := map[string]model.Finding{}
	for _, f := range fs {
		out[f.ID+"|"+f.Package.Name] = f
	}
	return out
}

func TestRealAlpine318(t *testing.T) {
	db := advisory.NewMemory()
	loadAlpineSample(t, db, "3.18")
	d := &model.Distro{ID: "alpine", VersionID: "3.18.0"}
	apk := func(name, ver, origin string) model.Package {
		return model.Package{Name: name, Version: ver, Type: model.TypeAPK, SourceName: origin}
	}
	pkgs := []model.Package{
		apk("musl", "1.2.4-r0", "musl"), apk("busybox", "1.36.0-r9", "busybox"), apk("ssl_client", "1.36.0-r9", "busybox"),
		apk("libcrypto3", "3.1.0-r4", "openssl"), apk("libssl3", "3.1.0-r4", "openssl"),
		apk("zlib", "1.2.13-r1", "zlib"), apk("apk-tools", "2.14.0-r0", "apk-tools"),
	}
	fs, ws, err := New(db).Match(context.Background(), d, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) > 0 {
		t.Errorf("warnings: %v", ws)
	}
	idx := findingIndex(fs)
	for _, tc := range []struct{ key, fixed string }{
		{"CVE-2023-2650|libcrypto3", "3.1.1-r0"},
		{"CVE-2023-2650|libssl3", "3.1.1-r0"},
		{"CVE-2022-48174|busybox", "1.36.1-r1"},
		{"CVE-2022-48174|ssl_client", "1.36.1-r1"},
		{"CVE-2025-26519|musl", "1.2.4-r3"},
	} {
		f, ok := idx[tc.key]
		if !ok {
			t.Errorf("missing finding %s", tc.key)
			continue
		}
		if f.FixedVersion != tc.fixed || f.Status != model.StatusFixed {
			t.Errorf("%s: fixed %q status %s, want %q", tc.key, f.FixedVersion, f.Status, tc.fixed)
		}
	}
	for _, f := range fs {
		if f.Package.Name == "zlib" {
			t.Errorf("zlib has nothing open, got %s", f.ID)
		}
		// Every finding must be a real one: installed older than its fix.
		if f.FixedVersion != "" {
			if c, err := version.Compare("Alpine:v3.18", f.InstalledVersion, f.FixedVersion); err != nil || c >= 0 {
				t.Errorf("%s on %s: installed %s not below fix %s", f.ID, f.Package.Name, f.InstalledVersion, f.FixedVersion)
			}
		}
	}
}

func TestRealDebian12(t *testing.T) {
	db := advisory.NewMemory()
	loadDebianSample(t, db)
	d := &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}
	deb := func(name, ver, src, srcVer string) model.Package {
		return model.Package{Name: name, Version: ver, Type: model.TypeDeb, SourceName: src, SourceVersion: srcVer}
	}
	pkgs := []model.Package{
		deb("libc6", "2.36-9+deb12u14", "glibc", ""),
		deb("bsdutils", "1:2.38.1-5+deb12u3", "util-linux", "2.38.1-5+deb12u3"),
		deb("util-linux", "2.38.1-5+deb12u3", "", ""),
		deb("perl-base", "5.36.0-7+deb12u3", "perl", ""),
		deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", ""),
		deb("login", "1:4.13+dfsg1-1+deb12u2", "shadow", ""),
		deb("libtinfo6", "6.4-4", "ncurses", ""),
		deb("coreutils", "9.1-1", "", ""),
		deb("apt", "2.6.1", "", ""),
		deb("tar", "1.34+dfsg-1.2+deb12u1", "", ""),
		// minbase-plus-curl-openssl
		deb("libxml2", "2.9.14+dfsg-1.3~deb12u6", "", ""),
		deb("openssl", "3.0.20-1~deb12u2", "", ""),
		deb("libssl3", "3.0.20-1~deb12u2", "openssl", ""),
		deb("curl", "7.88.1-10+deb12u15", "", ""),
	}
	fs, ws, err := New(db).Match(context.Background(), d, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) > 0 {
		t.Errorf("warnings: %v", ws)
	}
	idx := findingIndex(fs)
	for _, tc := range []struct {
		key    string
		status model.Status
	}{
		{"CVE-2023-45853|zlib1g", model.StatusAffected},
		{"CVE-2023-50495|libtinfo6", model.StatusAffected},
		{"CVE-2023-29383|login", model.StatusAffected},
		{"CVE-2016-2781|coreutils", model.StatusWillNotFix},
		{"CVE-2011-3374|apt", model.StatusAffected},
		{"CVE-2005-2541|tar", model.StatusAffected},
		{"CVE-2022-0563|util-linux", model.StatusAffected},
		{"CVE-2022-0563|bsdutils", model.StatusAffected},
		{"CVE-2024-25062|libxml2", model.StatusAffected},
	} {
		f, ok := idx[tc.key]
		if !ok {
			t.Errorf("missing finding %s", tc.key)
			continue
		}
		if f.Status != tc.status {
			t.Errorf("%s: status %s, want %s (remediation %q)", tc.key, f.Status, tc.status, f.Remediation)
		}
	}
	if f, ok := idx["CVE-2023-45853|zlib1g"]; ok && f.FixedVersion != "" {
		t.Errorf("zlib fixed only in unstable, got fixed version %q", f.FixedVersion)
	}
	if f, ok := idx["CVE-2011-3374|apt"]; ok && f.Severity != model.SeverityLow {
		t.Errorf("apt unimportant: severity %s", f.Severity)
	}
	// Negatives: newer than every DSA / at the fix boundary.
	for _, f := range fs {
		switch f.Package.Name {
		case "libc6":
			// The tracker's "<removed> (unimportant)" sid line says nothing
			// about bookworm, which still ships glibc: the loader keeps it
			// open (as Trivy reports it); every glibc DSA is fixed.
			if f.ID != "CVE-2010-4756" || f.Severity != model.SeverityLow {
				t.Errorf("unexpected finding %s (%s) on libc6 (%s)", f.ID, f.Severity, f.Remediation)
			}
		case "perl-base", "openssl", "libssl3", "curl":
			t.Errorf("unexpected finding %s on %s %s (%s)", f.ID, f.Package.Name, f.InstalledVersion, f.Remediation)
		case "util-linux", "bsdutils":
			if f.ID != "CVE-2022-0563" {
				t.Errorf("unexpected finding %s on %s", f.ID, f.Package.Name)
			}
		}
		if slices.Contains(f.Aliases, f.ID) {
			t.Errorf("%s lists itself as alias", f.ID)
		}
	}
}
