package vulndb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func sample(ctx context.Context, s advisory.Sink) error {
	puts := []advisory.Vulnerability{
		{ID: "GHSA-jfh8-c2jp-5v3q", Aliases: []string{"CVE-2021-44228"}, Summary: "Log4Shell", Severity: model.SeverityCritical, SeveritySource: "ghsa", Source: "osv:ghsa",
			CVSS: []model.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Score: 10, Source: "osv:ghsa"}}},
		{ID: "CVE-2021-44228", Summary: "Apache Log4j2 JNDI", Source: "nvd"},
		{ID: "CVE-2021-44228", KnownExploited: true, KEVDateAdded: "2021-12-10", Source: "kev"},
		{ID: "DSA-5022-1", Aliases: []string{"CVE-2021-44228"}, Source: "osv:dsa"},
	}
	for _, v := range puts {
		if err := s.PutVulnerability(ctx, v); err != nil {
			return err
		}
	}
	affs := []advisory.Affected{
		{VulnID: "GHSA-jfh8-c2jp-5v3q", Ecosystem: "Maven", Package: "org.apache.logging.log4j:log4j-core", Source: "osv:ghsa",
			Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "2.13.0"}, {Fixed: "2.15.0"}}}}},
		{VulnID: "GHSA-jfh8-c2jp-5v3q", Ecosystem: "Maven", Package: "org.apache.logging.log4j:log4j-core", Source: "osv:ghsa",
			Ranges:   []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {LastAffected: "2.12.1"}, {Limit: "2.13.0"}}}},
			Versions: []string{"2.0", "2.1"}},
		{VulnID: "DSA-5022-1", Ecosystem: "Debian:11", Package: "apache-log4j2", Source: "osv:dsa", Severity: model.SeverityHigh,
			Status: advisory.AffectedWillNotFix, Note: "minor issue", AffectedConstraints: []string{"<2.15.0"}, UnaffectedConstraints: []string{"~> 2.16"}},
	}
	for _, a := range affs {
		if err := s.PutAffected(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func TestBuildOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	meta, err := Build(ctx, dir, sample, now)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Vulnerabilities != 3 || meta.Counts["Maven"] != 2 || meta.Counts["Debian:11"] != 1 || meta.Counts["Debian"] != 1 {
		t.Errorf("meta = %+v", meta)
	}
	wantSources := []SourceInfo{{Name: "kev", Records: 1}, {Name: "nvd", Records: 1}, {Name: "osv:dsa", Records: 1}, {Name: "osv:ghsa", Records: 1}}
	if !reflect.DeepEqual(meta.Sources, wantSources) {
		t.Errorf("sources = %+v", meta.Sources)
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Meta(); !got.BuiltAt.Equal(now) || got.SchemaVersion != SchemaVersion || got.Vulnerabilities != 3 {
		t.Errorf("Meta() = %+v", got)
	}

	// Lookups must give back exactly what went in, in order.
	mem := advisory.NewMemory()
	if err := sample(ctx, mem); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][2]string{{"Maven", "org.apache.logging.log4j:log4j-core"}, {"Debian:11", "apache-log4j2"}, {"Debian:12", "apache-log4j2"}, {"Maven", "nope"}} {
		got, err := db.Affected(ctx, k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.Affected(ctx, k[0], k[1])
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Affected(%s, %s) =\n%+v\nwant\n%+v", k[0], k[1], got, want)
		}
	}
	for _, id := range []string{"GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228", "DSA-5022-1"} {
		got, ok, err := db.Vulnerability(ctx, id)
		want, _, _ := mem.Vulnerability(ctx, id)
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Vulnerability(%s) = %+v %v %v, want %+v", id, got, ok, err, want)
		}
	}
	if v, _, _ := db.Vulnerability(ctx, "CVE-2021-44228"); !v.KnownExploited || v.Source != "nvd,kev" {
		t.Errorf("merged CVE = %+v", v)
	}
	if _, ok, err := db.Vulnerability(ctx, "CVE-0000-0000"); ok || err != nil {
		t.Errorf("unknown id: ok=%v err=%v", ok, err)
	}
	aliasTests := map[string]string{
		"CVE-2021-44228":      "DSA-5022-1,GHSA-jfh8-c2jp-5v3q",
		"GHSA-jfh8-c2jp-5v3q": "CVE-2021-44228",
		"nothing":             "",
	}
	for id, want := range aliasTests {
		got, err := db.Aliases(ctx, id)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("Aliases(%s) = %v %v, want %s", id, got, err, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "bulwark db update") {
		t.Errorf("missing DB: %v", err)
	}
	if _, err := Build(context.Background(), dir, sample, now); err != nil {
		t.Fatal(err)
	}
	// Rewrite the schema version as an older build would have.
	b, err := bolt.Open(filepath.Join(dir, FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyMeta, []byte(`{"schema_version": 0}`))
	})
	b.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "schema version 0") {
		t.Errorf("old schema: %v", err)
	}
	garbage := t.TempDir()
	os.WriteFile(filepath.Join(garbage, FileName), []byte("not a bolt file at all, not at all"), 0o644)
	if _, err := Open(garbage); err == nil {
		t.Error("garbage file opened")
	}
}

func TestBuildFailureKeepsOld(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Build(ctx, dir, sample, now); err != nil {
		t.Fatal(err)
	}
	check := func(name string) {
		t.Helper()
		db, err := Open(dir)
		if err != nil {
			t.Fatalf("%s: old DB unusable: %v", name, err)
		}
		defer db.Close()
		if as, _ := db.Affected(ctx, "Debian:11", "apache-log4j2"); len(as) != 1 || !db.Meta().BuiltAt.Equal(now) {
			t.Errorf("%s: old content lost: %+v", name, as)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("%s: temp file left: %s", name, e.Name())
			}
		}
	}
	later := now.Add(time.Hour)

	// Cancelled while filling.
	cctx, cancel := context.WithCancel(ctx)
	_, err := Build(cctx, dir, func(ctx context.Context, s advisory.Sink) error {
		if err := synthetic(1000)(ctx, s); err != nil {
			return err
		}
		cancel()
		return ctx.Err()
	}, later)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fill: err = %v", err)
	}
	check("cancel during fill")

	// Cancelled while writing: the context ends after fill returned.
	cctx, cancel = context.WithCancel(ctx)
	_, err = Build(cctx, dir, func(ctx context.Context, s advisory.Sink) error {
		err := synthetic(50000)(ctx, s)
		go func() { time.Sleep(time.Millisecond); cancel() }()
		return err
	}, later)
	if err == nil {
		t.Log("write finished before the cancel arrived")
	}
	if err != nil {
		check("cancel during write")
	}
	cancel()

	// A feed error.
	_, err = Build(ctx, dir, func(ctx context.Context, s advisory.Sink) error { return errors.New("feed broke") }, later)
	if err == nil || !strings.Contains(err.Error(), "feed broke") {
		t.Errorf("fill error: %v", err)
	}
	check("fill error")

	// A bad entry from a loader.
	_, err = Build(ctx, dir, func(ctx context.Context, s advisory.Sink) error {
		return s.PutAffected(ctx, advisory.Affected{VulnID: "X-1"})
	}, later)
	if err == nil {
		t.Error("entry without package accepted")
	}
	check("bad entry")
}

func TestBuildLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	inFill := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := Build(ctx, dir, func(ctx context.Context, s advisory.Sink) error {
			close(inFill)
			<-release
			return sample(ctx, s)
		}, now)
		if err != nil {
			t.Error(err)
		}
	}()
	<-inFill
	// A second build must wait for the lock and give up with its context.
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := Build(tctx, dir, sample, now)
	if err == nil || !strings.Contains(err.Error(), "another DB update") {
		t.Errorf("concurrent build: %v", err)
	}
	close(release)
	wg.Wait()
	if _, err := Build(ctx, dir, sample, now.Add(time.Hour)); err != nil {
		t.Errorf("build after the lock was released: %v", err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	mem := advisory.NewMemory()
	sample(context.Background(), mem)
	as, _ := mem.Affected(context.Background(), "Maven", "org.apache.logging.log4j:log4j-core")
	got, err := decodeAffected(encodeAffected(as), "Maven", "org.apache.logging.log4j:log4j-core")
	if err != nil || !reflect.DeepEqual(got, as) {
		t.Fatalf("round trip = %+v %v", got, err)
	}
	enc := encodeAffected(as)
	for _, bad := range [][]byte{nil, {9}, enc[:len(enc)-1], append(append([]byte{}, enc...), 0), {1, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodeAffected(bad, "e", "p"); err == nil {
			t.Errorf("decode(%x) succeeded", bad)
		}
	}
}

func FuzzDecodeAffected(f *testing.F) {
	mem := advisory.NewMemory()
	sample(context.Background(), mem)
	as, _ := mem.Affected(context.Background(), "Maven", "org.apache.logging.log4j:log4j-core")
	f.Add(encodeAffected(as))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := decodeAffected(b, "e", "p")
		if err != nil {
			return
		}
		again, err := decodeAffected(encodeAffected(as), "e", "p")
		if err != nil || len(again) != len(as) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// synthetic fills n affected entries, about three per package, in a realistic
// ecosystem mix, with one vulnerability per entry.
func synthetic(n int) func(context.Context, advisory.Sink) error {
	ecos := []string{"Go", "npm", "PyPI", "Maven", "Debian:12", "Alpine:v3.20", "crates.io", "RubyGems"}
	return func(ctx context.Context, s advisory.Sink) error {
		for i := range n {
			id := fmt.Sprintf("SYN-%d", i)
			if err := s.PutVulnerability(ctx, advisory.Vulnerability{ID: id, Aliases: []string{fmt.Sprintf("CVE-2024-%d", i)},
				Summary: "synthetic vulnerability with a summary of realistic length for a feed", Source: "test",
				References: []string{"https://example.org/" + id}}); err != nil {
				return err
			}
			a := advisory.Affected{VulnID: id, Ecosystem: ecos[i%len(ecos)], Package: fmt.Sprintf("pkg-%d", (i/len(ecos))%(n/24+1)), Source: "test",
				Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fmt.Sprintf("1.%d.0", i%50)}}}}}
			if i%5 == 0 {
				a.Versions = []string{"1.0.0", "1.0.1", "1.1.0", "1.2.0"}
			}
			if err := s.PutAffected(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}
}

func BenchmarkAffected(b *testing.B) {
	dir := b.TempDir()
	if _, err := Build(context.Background(), dir, synthetic(100000), now); err != nil {
		b.Fatal(err)
	}
	db, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	ecos := []string{"Go", "npm", "PyPI", "Maven", "Debian:12", "Alpine:v3.20", "crates.io", "RubyGems"}
	pkgs := make([]string, 100000/24+1)
	for i := range pkgs {
		pkgs[i] = fmt.Sprintf("pkg-%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	found := 0
	for i := 0; b.Loop(); i++ {
		as, err := db.Affected(ctx, ecos[i%len(ecos)], pkgs[i%len(pkgs)])
		if err != nil {
			b.Fatal(err)
		}
		found += len(as)
	}
	if found == 0 {
		b.Fatal("no entries found")
	}
}

func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		if _, err := Build(context.Background(), b.TempDir(), synthetic(100000), now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCoverage: the DB records, per ecosystem, which sources hold
// advisories for it, how many packages and entries, and the newest
// advisory date; Covers finds an ecosystem only when it holds data.
func TestCoverage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mod := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	pub := time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)
	fill := func(ctx context.Context, s advisory.Sink) error {
		for _, v := range []advisory.Vulnerability{
			{ID: "DSA-1", Source: "debian-dsa", Modified: mod},
			{ID: "DSA-2", Source: "debian-dsa", Published: pub},
			{ID: "CVE-1", Source: "debian-tracker"},
			{ID: "GHSA-1", Source: "osv:ghsa", Modified: mod},
		} {
			if err := s.PutVulnerability(ctx, v); err != nil {
				return err
			}
		}
		r := []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "2"}}}}
		for _, a := range []advisory.Affected{
			{VulnID: "DSA-1", Ecosystem: "Debian:12", Package: "openssl", Source: "debian-dsa", Ranges: r},
			{VulnID: "DSA-2", Ecosystem: "Debian:12", Package: "openssl", Source: "debian-dsa", Ranges: r},
			{VulnID: "CVE-1", Ecosystem: "Debian:12", Package: "glibc", Source: "debian-tracker", Ranges: r},
			{VulnID: "GHSA-1", Ecosystem: "npm", Package: "lodash", Source: "osv:ghsa", Ranges: r},
		} {
			if err := s.PutAffected(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := Build(ctx, dir, fill, now); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := db.Meta()
	want := []EcosystemCoverage{
		{Ecosystem: "Debian:12", Entries: 3, Packages: 2, Sources: []SourceCoverage{{Name: "debian-dsa", Entries: 2, Newest: mod}, {Name: "debian-tracker", Entries: 1}}},
		{Ecosystem: "npm", Entries: 1, Packages: 1, Sources: []SourceCoverage{{Name: "osv:ghsa", Entries: 1, Newest: mod}}},
	}
	if !reflect.DeepEqual(m.Coverage, want) {
		t.Errorf("coverage = %+v\nwant %+v", m.Coverage, want)
	}
	for eco, ok := range map[string]bool{"Debian:12": true, "npm": true, "Debian:11": false, "Debian": false, "Red Hat:9": false, "PyPI": false} {
		if _, got := m.Covers(eco); got != ok {
			t.Errorf("Covers(%q) = %t, want %t", eco, got, ok)
		}
	}
	// A DB from before coverage was recorded answers from its counts.
	old := Meta{Counts: map[string]int{"Debian:12": 3, "Debian": 3}}
	if c, ok := old.Covers("Debian:12"); !ok || c.Entries != 3 {
		t.Errorf("fallback Covers(Debian:12) = %+v %t", c, ok)
	}
	if _, ok := old.Covers("npm"); ok {
		t.Error("fallback covers npm without entries")
	}
	st := StatusOf(dir, m, now.Add(8*24*time.Hour), 7*24*time.Hour)
	if !st.Stale || st.Age != "192h0m0s" || st.Path != filepath.Join(dir, FileName) {
		t.Errorf("status = %+v", st)
	}
}

// TestPrune: records no affected entry reaches, directly or through an
// alias, are left out of the file and counted; reachable ones stay.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	meta, err := Build(ctx, dir, func(ctx context.Context, s advisory.Sink) error {
		if err := sample(ctx, s); err != nil {
			return err
		}
		for _, v := range []advisory.Vulnerability{
			{ID: "CVE-2099-0001", Source: "nvd"},
			{ID: "CVE-2099-0002", EPSS: &model.EPSS{Score: 0.5}, Source: "epss"},
			{ID: "ALSA-2099:1", Aliases: []string{"GHSA-jfh8-c2jp-5v3q"}, Source: "osv:alsa"},
		} {
			if err := s.PutVulnerability(ctx, v); err != nil {
				return err
			}
		}
		return nil
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Unreferenced != 2 || meta.Vulnerabilities != 4 {
		t.Errorf("vulnerabilities %d, left out %d; want 4 and 2", meta.Vulnerabilities, meta.Unreferenced)
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, want := range map[string]bool{"CVE-2099-0001": false, "CVE-2099-0002": false, "ALSA-2099:1": true, "CVE-2021-44228": true} {
		if _, ok, _ := db.Vulnerability(ctx, id); ok != want {
			t.Errorf("%s stored = %v, want %v", id, ok, want)
		}
	}
}
