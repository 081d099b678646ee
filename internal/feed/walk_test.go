package feed

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"github.com/klauspost/compress/zstd"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

// fakeLoader recognises `{"fake": "<id>"...}` files and loads one record
// each; content "{"fake": "fail"}" is an error.
type fakeLoader struct {
	name  string
	seen  []string
	loads int
}

func (f *fakeLoader) Name() string { return f.name }
func (f *fakeLoader) Detect(name string, head []byte) bool {
	return bytes.HasPrefix(head, []byte(`{"`+f.name+`":`))
}
func (f *fakeLoader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	f.seen = append(f.seen, name)
	f.loads++
	if bytes.Contains(data, []byte("fail")) {
		return 0, errors.New("bad record")
	}
	return 1, sink.PutVulnerability(ctx, advisory.Vulnerability{ID: name, Source: f.name})
}
func (f *fakeLoader) Tallies() map[string]int { return map[string]int{"loads": f.loads} }

type file struct{ name, body string }

func tarBytes(t testing.TB, files ...file) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	tw.Close()
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		panic(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func zipBytes(t testing.TB, files ...file) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
	}
	zw.Close()
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func names(ss []Skip) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name+" => "+s.Reason)
	}
	sort.Strings(out)
	return out
}

func TestImportTree(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a/one.json", []byte(`{"fake": 1}`))
	writeFile(t, dir, "a/README.md", []byte("# readme"))
	writeFile(t, dir, "a/other.json", []byte(`{"something": "else"}`))
	writeFile(t, dir, "a/schema.json", []byte(`{"$schema": "http://json-schema.org/draft-07/schema#"}`))
	writeFile(t, dir, "a/empty.json", nil)
	writeFile(t, dir, "b/bad.json", []byte(`{"fake": "fail"}`))
	writeFile(t, dir, "b/two.json.gz", gz([]byte(`{"fake": 2}`)))
	writeFile(t, dir, "b/second.json", []byte(`{"other": 1}`))
	writeFile(t, dir, "c/bundle.tar.gz", gz(tarBytes(t,
		file{"x/three.json", `{"fake": 3}`},
		file{"../../evil/four.json", `{"fake": 4}`},
		file{"x/inner.zip", string(zipBytes(t, file{"z/five.json", `{"fake": 5}`}, file{"PROVENANCE.tsv", "a\tb"}))},
		file{"x/LICENSE", "MIT"},
	)))
	writeFile(t, dir, "c/all.zip", zipBytes(t, file{"GO-1.json", `{"fake": 6}`}, file{"nested.tgz", string(gz(tarBytes(t, file{"seven.json", `{"fake": 7}`})))}))
	writeFile(t, dir, "c/plain.tar", tarBytes(t, file{"eight.json", `{"fake": 8}`}))
	writeFile(t, dir, "c/corrupt.tar.gz", []byte("not gzip"))

	fake, other := &fakeLoader{name: "fake"}, &fakeLoader{name: "other"}
	m := advisory.NewMemory()
	st, err := Import(context.Background(), dir, []Loader{fake, other}, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records["fake"] != 8 || st.Records["other"] != 1 {
		t.Errorf("records = %v, want fake 8 other 1", st.Records)
	}
	wantIDs := []string{
		"a/one.json", "b/second.json", "b/two.json.gz",
		"c/all.zip!GO-1.json", "c/all.zip!nested.tgz!seven.json",
		"c/bundle.tar.gz!evil/four.json", "c/bundle.tar.gz!x/inner.zip!z/five.json", "c/bundle.tar.gz!x/three.json",
		"c/plain.tar!eight.json",
	}
	if got := m.IDs(); !slices.Equal(got, wantIDs) {
		t.Errorf("ids =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantIDs, "\n"))
	}
	wantSkipped := []string{
		"a/README.md => README",
		"a/empty.json => empty file",
		"a/other.json => no loader recognises this content",
		"a/schema.json => JSON schema file",
		"c/bundle.tar.gz!x/LICENSE => license file",
		"c/bundle.tar.gz!x/inner.zip!PROVENANCE.tsv => PROVENANCE",
	}
	if got := names(st.Skipped); !slices.Equal(got, wantSkipped) {
		t.Errorf("skipped =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantSkipped, "\n"))
	}
	failed := names(st.Failed)
	if len(failed) != 2 || !strings.HasPrefix(failed[0], "b/bad.json => fake: bad record") || !strings.HasPrefix(failed[1], "c/corrupt.tar.gz => open gzip") {
		t.Errorf("failed = %q", failed)
	}
	if st.Files != 16 {
		t.Errorf("files = %d, want 16", st.Files)
	}
	if st.Tallies["fake: loads"] != 9 || st.Tallies["other: loads"] != 1 {
		t.Errorf("tallies = %v", st.Tallies)
	}
}

func TestImportSingleFiles(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"one.json", []byte(`{"fake": 1}`), 1},
		{"one.yaml", []byte(`{"fake": 1}`), 1},
		{"one.json.gz", gz([]byte(`{"fake": 1}`)), 1},
		{"all.zip", zipBytes(t, file{"a.json", `{"fake": 1}`}, file{"b.json", `{"fake": 2}`}), 2},
		{"a.tgz", gz(tarBytes(t, file{"a.json", `{"fake": 1}`})), 1},
		{"a.tar", tarBytes(t, file{"a.json", `{"fake": 1}`}, file{"b.json.gz", string(gz([]byte(`{"fake": 1}`)))}), 2},
		{"a.tar.gz", gz(tarBytes(t, file{"a.json", `{"fake": 1}`})), 1},
		{"csaf_vex.tar.zst", zst(tarBytes(t, file{"2024/a.json", `{"fake": 1}`}, file{"2024/b.json", `{"fake": 2}`})), 2},
		{"one.json.zst", zst([]byte(`{"fake": 1}`)), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name, tt.data)
			st, err := Import(context.Background(), p, []Loader{&fakeLoader{name: "fake"}}, advisory.NewMemory(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Records["fake"] != tt.want || len(st.Failed) != 0 {
				t.Errorf("records = %v failed = %v, want %d", st.Records, st.Failed, tt.want)
			}
		})
	}
	if _, err := Import(context.Background(), filepath.Join(dir, "missing"), nil, advisory.NewMemory(), nil); err == nil {
		t.Error("missing root: no error")
	}
	// A corrupt zstd archive fails that file only.
	p := writeFile(t, dir, "bad.tar.zst", append(zst(tarBytes(t, file{"a.json", `{"fake": 1}`}))[:20], "garbage"...))
	st, err := Import(context.Background(), p, []Loader{&fakeLoader{name: "fake"}}, advisory.NewMemory(), nil)
	if err != nil || len(st.Failed) != 1 {
		t.Errorf("corrupt zstd: err %v, failed %v", err, st.Failed)
	}
}

func TestImportLimits(t *testing.T) {
	dir := t.TempDir()
	big := `{"fake": "` + strings.Repeat("a", 4000) + `"}`
	p := writeFile(t, dir, "bomb.tar.gz", gz(tarBytes(t, file{"a.json", big}, file{"b.json", `{"fake": 2}`})))
	t.Run("member", func(t *testing.T) {
		st, err := Import(context.Background(), p, []Loader{&fakeLoader{name: "fake"}}, advisory.NewMemory(), nil, WithLimits(1000, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Failed) != 1 || !strings.Contains(st.Failed[0].Reason, "size limit") || st.Records["fake"] != 1 {
			t.Errorf("failed = %v records = %v", st.Failed, st.Records)
		}
	})
	t.Run("archive", func(t *testing.T) {
		st, err := Import(context.Background(), p, []Loader{&fakeLoader{name: "fake"}}, advisory.NewMemory(), nil, WithLimits(1<<20, 3000))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Failed) == 0 || st.Records["fake"] != 0 {
			t.Errorf("failed = %v records = %v", st.Failed, st.Records)
		}
	})
	t.Run("exact", func(t *testing.T) {
		q := writeFile(t, dir, "exact.json", []byte(`{"fake": 1}`))
		st, _ := Import(context.Background(), q, []Loader{&fakeLoader{name: "fake"}}, advisory.NewMemory(), nil, WithLimits(11, 11))
		if st.Records["fake"] != 1 || len(st.Failed) != 0 {
			t.Errorf("file of exactly the limit: records = %v failed = %v", st.Records, st.Failed)
		}
	})
}

func TestImportCancel(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		writeFile(t, dir, fmt.Sprintf("%d.json", i), []byte(`{"fake": 1}`))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Import(ctx, dir, []Loader{&fakeLoader{name: "fake"}}, advisory.NewMemory(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func FuzzImport(f *testing.F) {
	f.Add(gz(tarBytes(f, file{"a.json", `{"fake": 1}`})), "a.tar.gz")
	f.Add(zipBytes(f, file{"a.json", `{"fake": 1}`}, file{"b.tgz", string(gz(tarBytes(f, file{"c.json", `{"fake": 1}`})))}), "all.zip")
	f.Add(tarBytes(f, file{"../x.json.gz", string(gz([]byte(`{"fake": 1}`)))}), "a.tar")
	f.Add(gz([]byte(`{"fake": 1}`)), "a.json.gz")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		switch {
		case strings.HasSuffix(name, ".zip"), strings.HasSuffix(name, ".tar"), strings.HasSuffix(name, ".gz"), strings.HasSuffix(name, ".tgz"):
		default:
			name = "f.json"
		}
		name = filepath.Base(name)
		if name == "." || name == "/" || strings.ContainsAny(name, "\x00") {
			return
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return
		}
		st, err := Import(context.Background(), p, []Loader{&fakeLoader{name: "fake"}}, advisory.NewMemory(), nil, WithLimits(1<<16, 1<<18))
		if err != nil {
			t.Fatalf("Import: %v", err)
		}
		if st.Records["fake"] > st.Files {
			t.Fatalf("records %d > files %d", st.Records["fake"], st.Files)
		}
	})
}
