// Package feedtest holds what every feed loader's tests share: a sink that
// fails the test on an invalid record, and a fuzz driver over a loader.
package feedtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// Sink fails the test on any record that does not Validate, whose ecosystem
// does not start with Eco, or that Extra (optional) rejects.
type Sink struct {
	T     testing.TB
	Eco   string
	Extra func(advisory.Affected) error
}

var _ advisory.Sink = Sink{}

func (s Sink) PutVulnerability(_ context.Context, v advisory.Vulnerability) error {
	if err := v.Validate(); err != nil {
		s.T.Fatalf("loader emitted a bad vulnerability: %v: %+v", err, v)
	}
	return nil
}

func (s Sink) PutAffected(_ context.Context, a advisory.Affected) error {
	if err := a.Validate(); err != nil {
		s.T.Fatalf("loader emitted a bad entry: %v: %+v", err, a)
	}
	if !strings.HasPrefix(a.Ecosystem, s.Eco) {
		s.T.Fatalf("ecosystem %q, want prefix %q: %+v", a.Ecosystem, s.Eco, a)
	}
	if s.Extra != nil {
		if err := s.Extra(a); err != nil {
			s.T.Fatalf("bad entry: %v: %+v", err, a)
		}
	}
	return nil
}

// Fuzz drives a loader's Detect and Load of a file called name with
// arbitrary bytes: it must never panic, and whatever it emits must be valid.
func Fuzz(f *testing.F, l feed.Loader, name, eco string, extra func(advisory.Affected) error, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l.Detect(name, data)
		_, _ = l.Load(context.Background(), name, bytes.NewReader(data), Sink{T: t, Eco: eco, Extra: extra})
	})
}

// LoadArchive feeds every member of a ../shared tar.gz archive (rel, as
// testenv.TarGzFiles takes it) to l the way the import walker does: Detect
// on the member's name under prefix ("x.tar.gz!") and first 8 KiB must
// equal want(member), and the members it claims are loaded into sink. It
// returns how many records were loaded and how many members were claimed.
func LoadArchive(t *testing.T, l feed.Loader, rel, prefix string, want func(member string) bool, sink advisory.Sink) (loaded, detected int) {
	t.Helper()
	ctx := context.Background()
	testenv.TarGzFiles(t, rel, func(member string, data []byte) {
		name := prefix + member
		w := want(member)
		if got := l.Detect(name, data[:min(len(data), 8<<10)]); got != w {
			t.Errorf("Detect(%s) = %v, want %v", member, got, w)
			return
		}
		if !w {
			return
		}
		detected++
		n, err := l.Load(ctx, name, bytes.NewReader(data), sink)
		if err != nil {
			t.Errorf("%s: %v", member, err)
		}
		loaded += n
	})
	return loaded, detected
}

// Recorder keeps what a loader emits, in order, for golden files.
type Recorder struct {
	Vulnerabilities []advisory.Vulnerability `json:"vulnerabilities"`
	Affected        []advisory.Affected      `json:"affected"`
}

var _ advisory.Sink = (*Recorder)(nil)

func (r *Recorder) PutVulnerability(_ context.Context, v advisory.Vulnerability) error {
	if err := v.Validate(); err != nil {
		return err
	}
	r.Vulnerabilities = append(r.Vulnerabilities, v)
	return nil
}

func (r *Recorder) PutAffected(_ context.Context, a advisory.Affected) error {
	if err := a.Validate(); err != nil {
		return err
	}
	r.Affected = append(r.Affected, a)
	return nil
}

// Golden loads each file (Detect must claim it) with l and compares what
// it emitted, as indented JSON, with the golden file; update rewrites it.
func Golden(t *testing.T, l feed.Loader, golden string, update bool, files ...string) *Recorder {
	t.Helper()
	rec := &Recorder{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head := data[:min(len(data), feed.HeadSize)]
		if !l.Detect(filepath.Base(f), head) {
			t.Fatalf("%s: %s does not detect it", f, l.Name())
		}
		if _, err := l.Load(context.Background(), filepath.Base(f), bytes.NewReader(data), rec); err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
	}
	got, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what %s emits (run with -update to accept):\n%s", golden, l.Name(), got)
	}
	return rec
}
