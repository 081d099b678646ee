package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHostInventory inventories this machine's own root (a Debian host):
// its dpkg packages and release, without walking the rest of the tree.
func TestHostInventory(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("needs a dpkg-based host")
	}
	start := time.Now()
	rep, err := Host(context.Background(), "/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if rep.Distro == nil || rep.Distro.ID != "debian" || len(rep.Packages) < 50 || rep.Image.Source != FromHost {
		t.Fatalf("host inventory: distro %+v, %d packages, source %q", rep.Distro, len(rep.Packages), rep.Image.Source)
	}
	for _, p := range rep.Packages {
		if p.Type != "deb" {
			t.Fatalf("a %s package on the host (%s at %s): only OS databases are read", p.Type, p.Name, p.Path)
		}
	}
	t.Logf("host inventory: %s, %d packages in %s", rep.Distro.PrettyName, len(rep.Packages), took)
	if took > 10*time.Second {
		t.Errorf("host inventory took %s: the walk is not limited to the package databases", took)
	}
}

// TestHostFingerprint: unchanged databases hash the same; a rewritten
// status file or a new status.d entry changes it; a root without any is
// still a fingerprint (nothing to inventory), a missing root an error.
func TestHostFingerprint(t *testing.T) {
	root := t.TempDir()
	write := func(rel, body string, mt time.Time) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	fp := func() string {
		t.Helper()
		s, err := HostFingerprint(root)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	empty := fp()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", t0)
	write("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\n", t0)
	first := fp()
	if first == empty || fp() != first {
		t.Fatalf("fingerprint not stable or blind to the databases")
	}
	write("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\n", t0.Add(time.Second))
	second := fp()
	if second == first {
		t.Errorf("a rewritten dpkg status left the fingerprint unchanged")
	}
	write("var/lib/dpkg/status.d/b", "Package: b\nVersion: 2\n", t0)
	if fp() == second {
		t.Errorf("a new status.d entry left the fingerprint unchanged")
	}
	rep, err := Host(context.Background(), root, Options{})
	if err != nil || len(rep.Packages) != 2 || rep.Distro == nil || rep.Distro.VersionID != "12" {
		t.Fatalf("inventory of the fixture root: %+v %v", rep, err)
	}
	if _, err := HostFingerprint(filepath.Join(root, "missing")); err == nil {
		t.Errorf("a missing root: no error")
	}
}
