package alpine

import (
	"bytes"
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

const vulndata = "../../../../shared/vulndata/alpine"

func need(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(vulndata); err != nil {
		testenv.Skipf(t, "needs ../shared/vulndata/alpine (real Alpine secdb data): %v", err)
	}
}

func TestRealLegacyYAML(t *testing.T) {
	need(t)
	m := advisory.NewMemory()
	l := SecDB()
	files, pkgs := 0, 0
	testenv.TarGzFiles(t, "vulndata/alpine/alpine-secdb-legacy-v3.3-v3.11-yaml.tar.gz", func(hname string, data []byte) {
		name := "legacy.tar.gz!" + hname
		if !l.Detect(name, data[:min(len(data), 8<<10)]) {
			if strings.HasSuffix(hname, ".yaml") {
				t.Errorf("Detect rejected %s", hname)
			}
			return
		}
		if !strings.HasSuffix(hname, ".yaml") {
			t.Errorf("Detect claimed %s", hname)
		}
		docs, err := parse(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			pkgs += len(d.Packages)
		}
		if _, err := l.Load(context.Background(), name, bytes.NewReader(data), m); err != nil {
			t.Errorf("%s: %v", hname, err)
		}
		files++
	})
	if files != 18 || pkgs != 1652 {
		t.Errorf("files = %d, package entries = %d; want 18, 1652", files, pkgs)
	}
	c := m.Counts()
	for _, rel := range []string{"v3.3", "v3.7", "v3.10", "v3.11"} {
		if c["Alpine:"+rel] == 0 {
			t.Errorf("no entries for %s: %v", rel, c)
		}
	}
	if a, ok := get(t, m, "Alpine:v3.11", "xen", "CVE-2016-6258"); !ok || fixed(a) == "" {
		t.Errorf("xen = %+v", a)
	}
}

func TestRealVulnList(t *testing.T) {
	need(t)
	m := advisory.NewMemory()
	l := SecDB()
	n := 0
	err := filepath.WalkDir(filepath.Join(vulndata, "vuln-list-alpine-sample"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !l.Detect(p, data[:min(len(data), 8<<10)]) {
			t.Errorf("Detect rejected %s", p)
		}
		if _, err := l.Load(context.Background(), p, bytes.NewReader(data), m); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Errorf("files = %d, want 20", n)
	}
	tests := []struct {
		eco, pkg, id, fixed string
		status              advisory.AffectedStatus
	}{
		{"Alpine:v3.18", "openssl", "CVE-2023-2650", "3.1.1-r0", ""},
		{"Alpine:v3.18", "busybox", "CVE-2022-48174", "1.36.1-r1", ""},
		{"Alpine:v3.18", "zlib", "CVE-2023-45853", "", advisory.AffectedNot},
		{"Alpine:v3.20", "zlib", "CVE-2023-45853", "", advisory.AffectedNot},
	}
	for _, tt := range tests {
		a, ok := get(t, m, tt.eco, tt.pkg, tt.id)
		if !ok || fixed(a) != tt.fixed || a.Status != tt.status {
			t.Errorf("%s %s %s = %+v (found %v)", tt.eco, tt.pkg, tt.id, a, ok)
		}
	}
}

func BenchmarkLoadYAML(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("distroversion: v3.11\nreponame: main\npackages:\n")
	for i := range 2000 {
		sb.WriteString("  - pkg:\n      name: p" + string(rune('a'+i%26)) + "\n      secfixes:\n        1.0-r1:\n          - CVE-2020-1234\n          - CVE-2020-1235 XSA-1\n")
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := SecDB().Load(context.Background(), "main.yaml", strings.NewReader(data), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) PutVulnerability(context.Context, advisory.Vulnerability) error { return nil }
func (discard) PutAffected(context.Context, advisory.Affected) error           { return nil }
