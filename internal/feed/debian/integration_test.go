package debian

import (
	"bytes"
	"compress/gzip"
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const vulndata = "../../../../shared/vulndata"

func needData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(vulndata, rel)
	if _, err := os.Stat(p); err != nil {
		testenv.Skipf(t, "needs ../shared/vulndata/%s (real Debian tracker data): %v", rel, err)
	}
	return p
}

func gunzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func head(b []byte) []byte { return b[:min(len(b), 8<<10)] }

func TestRealAdvisoryLists(t *testing.T) {
	dir := needData(t, "debian/security-tracker-2023-04")
	all := []feed.Loader{List(), CVEList(), TrackerJSON(), VulnList()}
	for file, want := range map[string]int{"DSA-list.gz": 5406, "DLA-list.gz": 3534, "DTSA-list.gz": 208} {
		data := gunzip(t, filepath.Join(dir, file))
		for _, l := range all {
			if got := l.Detect(file, head(data)); got != (l.Name() == "debian-dsa-list") {
				t.Errorf("%s.Detect(%s) = %v", l.Name(), file, got)
			}
		}
		m := advisory.NewMemory()
		n, err := List().Load(context.Background(), file, bytes.NewReader(data), m)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if n != want || len(m.IDs()) != want {
			t.Errorf("%s: loaded %d (%d ids), want %d", file, n, len(m.IDs()), want)
		}
	}
	m := advisory.NewMemory()
	if _, err := List().Load(context.Background(), "DSA", bytes.NewReader(gunzip(t, filepath.Join(dir, "DSA-list.gz"))), m); err != nil {
		t.Fatal(err)
	}
	a, ok := find(t, m, "Debian:11", "xorg-server", "DSA-5380-1")
	if !ok || fixedOf(a) != "2:1.20.11-1+deb11u6" {
		t.Errorf("DSA-5380-1 xorg-server bullseye = %+v", a)
	}
	if c := m.Counts(); c["Debian:12"] != 0 || c["Debian:11"] == 0 || c["Debian:10"] == 0 {
		t.Errorf("ecosystem counts %v (list predates bookworm)", c)
	}
}

func TestRealVulnListSample(t *testing.T) {
	dir := needData(t, "debian/vuln-list-debian-sample/tracker")
	ctx := context.Background()
	m := advisory.NewMemory()
	l := VulnList()
	files := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !l.Detect(p, head(b)) || List().Detect(p, head(b)) || TrackerJSON().Detect(p, head(b)) {
			t.Errorf("Detect wrong for %s", p)
		}
		n, err := l.Load(ctx, p, bytes.NewReader(b), m)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		files += n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 27 {
		t.Errorf("loaded %d records, want 27", files)
	}
	tests := []struct {
		name, pkg, id string
		status        advisory.AffectedStatus
		fixed         string
		sev           model.Severity
		note          string
	}{
		{"apt unfixed unimportant", "apt", "CVE-2011-3374", advisory.AffectedUnfixed, "", model.SeverityLow, "unimportant"},
		{"coreutils ignored", "coreutils", "CVE-2016-2781", advisory.AffectedWillNotFix, "", model.SeverityLow, "ignored: Minor issue"},
		{"zlib sid only", "zlib", "CVE-2023-45853", advisory.AffectedUnfixed, "1:1.3.dfsg-2", "", "fixed in unstable 1:1.3.dfsg-2; no fix for this release yet"},
		{"perl fixed in bookworm", "perl", "CVE-2023-31484", "", "5.36.0-7+deb12u3", "", ""},
		{"glibc DSA", "glibc", "DSA-5673-1", "", "2.36-9+deb12u6", "", ""},
		{"ncurses no-dsa", "ncurses", "CVE-2023-50495", advisory.AffectedUnfixed, "", "", "no DSA: Minor issue"},
		{"openssl fixed", "openssl", "CVE-2024-2511", "", "3.0.14-1~deb12u1", "", ""},
		{"tar unimportant", "tar", "CVE-2005-2541", advisory.AffectedUnfixed, "", model.SeverityLow, "unimportant"},
	}
	for _, tt := range tests {
		a, ok := find(t, m, "Debian:12", tt.pkg, tt.id)
		if !ok || a.Status != tt.status || fixedOf(a) != tt.fixed || (tt.sev != "" && a.Severity != tt.sev) || !strings.Contains(a.Note, tt.note) {
			t.Errorf("%s: %+v (found %v)", tt.name, a, ok)
		}
	}
	// glibc CVE-2024-2961 has no bookworm line in this copy: it inherits sid.
	if a, ok := find(t, m, "Debian:12", "glibc", "CVE-2024-2961"); !ok || a.Status != advisory.AffectedUnfixed || fixedOf(a) != "2.37-18" {
		t.Errorf("glibc CVE-2024-2961 bookworm = %+v", a)
	}
	if a, ok := find(t, m, "Debian:10", "perl", "CVE-2023-31484"); !ok || a.Status != advisory.AffectedUnfixed || !strings.Contains(a.Note, "no DSA") {
		t.Errorf("perl buster = %+v", a)
	}
	if a, ok := find(t, m, "Debian:10", "glibc", "CVE-2023-4911"); !ok || a.Status != advisory.AffectedNot {
		t.Errorf("glibc CVE-2023-4911 buster not-affected = %+v", a)
	}
	v, ok, _ := m.Vulnerability(ctx, "DSA-5724-1")
	if !ok || len(v.Aliases) == 0 || v.Published.IsZero() {
		t.Errorf("DSA-5724-1 = %+v", v)
	}
}

func TestRealFormatSamples(t *testing.T) {
	dir := needData(t, "debian/format-samples")
	ctx := context.Background()
	b, err := os.ReadFile(filepath.Join(dir, "tracker-data-json-sample.vunnel.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := advisory.NewMemory()
	if !TrackerJSON().Detect("x", head(b)) {
		t.Error("tracker JSON not detected")
	}
	n, err := TrackerJSON().Load(ctx, "tracker.json", bytes.NewReader(b), m)
	if err != nil || n != 7 {
		t.Errorf("tracker JSON: %d, %v; want 7 CVEs", n, err)
	}
	if a, ok := find(t, m, "Debian:10", "prototypejs", "CVE-2007-2383"); !ok || a.Status != advisory.AffectedNot {
		t.Errorf("prototypejs = %+v", a)
	}
	if a, ok := find(t, m, "Debian:9", "prototypejs", "CVE-2008-7220"); !ok || fixedOf(a) != "1.6.0.2-1" || a.Severity != model.SeverityHigh {
		t.Errorf("prototypejs = %+v", a)
	}

	b, err = os.ReadFile(filepath.Join(dir, "CVE-list-sample.vuln-list-update.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !CVEList().Detect("list", head(b)) || List().Detect("list", head(b)) {
		t.Error("CVE list detection wrong")
	}
	m = advisory.NewMemory()
	if _, err := CVEList().Load(ctx, "list", bytes.NewReader(b), m); err != nil {
		t.Fatal(err)
	}
	if a, ok := find(t, m, "Debian:12", "foot", "CVE-2023-XXXX"); !ok || fixedOf(a) != "1.13.1-2+deb12u1" {
		t.Errorf("foot bookworm = %+v", a)
	}
	if a, ok := find(t, m, "Debian:11", "putty", "CVE-2021-36367"); !ok || a.Status != advisory.AffectedUnfixed || a.Severity != model.SeverityLow {
		t.Errorf("putty bullseye = %+v", a)
	}
	if _, ok := find(t, m, "Debian:12", "ant", "CVE-2021-36373"); !ok {
		t.Error("ant not inherited into bookworm")
	}
}

func BenchmarkListLoad(b *testing.B) {
	p := filepath.Join(vulndata, "debian/security-tracker-2023-04/DSA-list.gz")
	if _, err := os.Stat(p); err != nil {
		b.Skipf("needs ../shared/vulndata/debian: %v", err)
	}
	data := gunzip(b, p)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := List().Load(context.Background(), "DSA", bytes.NewReader(data), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCVEListLoad(b *testing.B) {
	var sb strings.Builder
	for range 2000 {
		sb.WriteString(cveListSample)
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := CVEList().Load(context.Background(), "list", strings.NewReader(data), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) PutVulnerability(context.Context, advisory.Vulnerability) error { return nil }
func (discard) PutAffected(context.Context, advisory.Affected) error           { return nil }
