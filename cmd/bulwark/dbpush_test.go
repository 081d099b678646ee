package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

func writeKeys(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(sk)
	pder, _ := x509.MarshalPKIXPublicKey(pk)
	priv, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	write(t, priv, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	write(t, pub, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder})))
	return priv, pub
}

// TestCLIDBPushPull: `db push --key` to a real registry on loopback, then
// `db update --from --verify-key` on another cache; a key that does not
// match is refused with exit 1 and the DB in place stays.
func TestCLIDBPushPull(t *testing.T) {
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	cache, feeds, _ := fixture(t)
	keys := t.TempDir()
	priv, pub := writeKeys(t, keys, "site")
	_, otherPub := writeKeys(t, keys, "other")
	if _, code := run(t, "--cache-dir", cache, "db", "update", "--source", feeds); code != 0 {
		t.Fatalf("db update exit %d", code)
	}
	ref := reg + "/bulwark/vulndb:latest"
	out, code := run(t, "--cache-dir", cache, "db", "push", ref, "--key", priv)
	if code != 0 || !strings.Contains(out, "signed") {
		t.Fatalf("db push exit %d: %s", code, out)
	}
	fleet := filepath.Join(t.TempDir(), "fleet")
	out, code = run(t, "--cache-dir", fleet, "db", "update", "--from", ref, "--verify-key", pub)
	if code != 0 || !strings.Contains(out, "signature verified") {
		t.Fatalf("db update --from exit %d: %s", code, out)
	}
	dbFile := filepath.Join(fleet, "db", "bulwark.db")
	before, err := os.ReadFile(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	if status, code := run(t, "--cache-dir", fleet, "db", "status"); code != 0 || !strings.Contains(status, "Debian:12") {
		t.Errorf("db status exit %d:\n%s", code, status)
	}
	if _, code := run(t, "--cache-dir", fleet, "db", "update", "--from", ref, "--verify-key", otherPub); code != 1 {
		t.Errorf("wrong key: exit %d, want 1", code)
	}
	after, _ := os.ReadFile(dbFile)
	if !bytes.Equal(before, after) {
		t.Error("a refused artifact changed the installed DB")
	}
	if _, code := run(t, "--cache-dir", fleet, "db", "update", "--from", ref, "--source", feeds); code != 2 {
		t.Errorf("--from with --source: exit %d, want 2", code)
	}
}

// TestCLIDBStatusVendorSources: every new source appears in `db status`'s
// coverage under the release it covers, and EPSS among the sources.
func TestCLIDBStatusVendorSources(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	var srcs []string
	for _, g := range []string{"../../internal/feed/redhat/testdata/cve-*.json", "../../internal/feed/osv/testdata/vendors/*.json",
		"../../internal/feed/updateinfo/testdata/*.xml", "../../internal/feed/photon/testdata/cve_data_photon*.json",
		"../../internal/feed/epss/testdata/*.csv"} {
		m, _ := filepath.Glob(g)
		srcs = append(srcs, m...)
	}
	if _, code := run(t, "--cache-dir", cache, "db", "update", "--source", strings.Join(srcs, ",")); code != 0 {
		t.Fatalf("db update exit %d", code)
	}
	out, code := run(t, "--cache-dir", cache, "db", "status")
	if code != 0 {
		t.Fatalf("db status exit %d", code)
	}
	for _, want := range []string{
		"Red Hat:8", "Red Hat:9", "redhat-csaf-vex", "AlmaLinux:8", "osv:alsa", "Rocky Linux:8", "osv:rlsa",
		"SUSE:Linux Enterprise Module for Basesystem 15 SP5", "osv:suse", "openSUSE:Leap 15.5", "osv:opensuse",
		"Azure Linux:2", "osv:azl", "Wolfi", "Chainguard", "Amazon Linux:2023", "alas", "Oracle Linux:8", "elsa",
		"Photon OS:4.0", "photon", "Ubuntu:22.04:LTS", "epss",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("db status lacks %q:\n%s", want, out)
		}
	}
}
