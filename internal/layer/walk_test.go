package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus under testdata/")

// entry describes one tar entry of a synthetic layer.
type entry struct {
	name     string
	typ      byte
	body     string
	size     int64 // when set, overrides len(body) in the header (for lying headers)
	linkname string
}

func buildTar(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.linkname, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %s: %v", e.name, err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatalf("write %s: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantAll(string, fs.FileMode, int64) bool { return true }

func wantPrefix(prefixes ...string) func(string, fs.FileMode, int64) bool {
	return func(p string, _ fs.FileMode, _ int64) bool {
		for _, pre := range prefixes {
			if strings.HasPrefix(p, pre) {
				return true
			}
		}
		return false
	}
}

func TestWalk(t *testing.T) {
	tests := []struct {
		name      string
		entries   []entry
		want      func(string, fs.FileMode, int64) bool
		lim       Limits
		files     map[string]string
		whiteouts []string
		opaque    []string
		warnings  []string // substrings, one per expected warning
		wantErr   error
	}{
		{
			name: "normalises names and filters by want",
			entries: []entry{
				{name: "./etc/", typ: tar.TypeDir},
				{name: "./etc/os-release", body: "ID=test\n"},
				{name: "/usr/lib/a.txt", body: "a"},
				{name: "usr//lib/./b.txt", body: "b"},
				{name: "var/other", body: "x"},
			},
			want:  wantPrefix("etc/", "usr/"),
			files: map[string]string{"etc/os-release": "ID=test\n", "usr/lib/a.txt": "a", "usr/lib/b.txt": "b"},
		},
		{
			name: "whiteouts and opaque dirs are recorded, not delivered",
			entries: []entry{
				{name: "etc/.wh.passwd", body: ""},
				{name: "usr/share/.wh..wh..opq", body: ""},
				{name: ".wh.opt", body: ""},
				{name: ".wh..wh..opq", body: ""},
				{name: "etc/keep", body: "k"},
			},
			want:      wantAll,
			files:     map[string]string{"etc/keep": "k"},
			whiteouts: []string{"etc/passwd", "opt"},
			opaque:    []string{"usr/share", "."},
		},
		{
			name: "traversal entries are skipped with a warning",
			entries: []entry{
				{name: "../../etc/passwd", body: "evil"},
				{name: "a/../../../b", body: "evil"},
				{name: "a/../c", body: "fine"},
				{name: "../.wh.x", body: ""},
			},
			want:     wantAll,
			files:    map[string]string{"c": "fine"},
			warnings: []string{"escapes the root", "escapes the root", "escapes the root"},
		},
		{
			name: "symlinks are skipped, never followed",
			entries: []entry{
				{name: "etc/os-release", typ: tar.TypeSymlink, linkname: "../../../../host/etc/shadow"},
				{name: "lib", typ: tar.TypeSymlink, linkname: "/"},
				{name: "lib/x", body: "written through a symlink dir name"},
			},
			want:  wantAll,
			files: map[string]string{"lib/x": "written through a symlink dir name"},
		},
		{
			name: "hard link to a read file delivers its bytes",
			entries: []entry{
				{name: "usr/bin/perl5.36", body: "PERL"},
				{name: "usr/bin/perl", typ: tar.TypeLink, linkname: "usr/bin/perl5.36"},
				{name: "./usr/bin/perl2", typ: tar.TypeLink, linkname: "./usr/bin/perl5.36"},
			},
			want:  wantAll,
			files: map[string]string{"usr/bin/perl5.36": "PERL", "usr/bin/perl": "PERL", "usr/bin/perl2": "PERL"},
		},
		{
			name: "hard link to an unread target warns",
			entries: []entry{
				{name: "opt/real", body: "R"},
				{name: "usr/bin/x", typ: tar.TypeLink, linkname: "opt/real"},
				{name: "usr/bin/y", typ: tar.TypeLink, linkname: "opt/missing"},
				{name: "usr/bin/z", typ: tar.TypeLink, linkname: "../../escape"},
			},
			want:     wantPrefix("usr/"),
			warnings: []string{"not read", "not read", "escapes the root"},
		},
		{
			name: "hard link whose target bytes were not kept is skipped quietly",
			entries: []entry{
				{name: "a", body: "0123456789"},
				{name: "b", typ: tar.TypeLink, linkname: "a"},
			},
			want:  wantAll,
			lim:   Limits{MaxLinkBytes: 5},
			files: map[string]string{"a": "0123456789"},
		},
		{
			name: "giant file is skipped and the walk goes on",
			entries: []entry{
				{name: "big", body: strings.Repeat("x", 100)},
				{name: "small", body: "s"},
			},
			want:     wantAll,
			lim:      Limits{MaxFileSize: 10},
			files:    map[string]string{"small": "s"},
			warnings: []string{"exceeds the 10-byte file limit"},
		},
		{
			name: "unwanted giant file is skipped silently",
			entries: []entry{
				{name: "big", body: strings.Repeat("x", 100)},
			},
			want: wantPrefix("etc/"),
			lim:  Limits{MaxFileSize: 10},
		},
		{
			name: "too many entries is an error",
			entries: []entry{
				{name: "a", body: "1"}, {name: "b", body: "2"}, {name: "c", body: "3"},
			},
			want:    wantAll,
			lim:     Limits{MaxEntries: 2},
			wantErr: ErrTooManyEntries,
		},
		{
			name: "too many bytes is an error",
			entries: []entry{
				{name: "a", body: strings.Repeat("z", 1<<16)},
			},
			want:    wantPrefix("nothing"),
			lim:     Limits{MaxLayerSize: 4096},
			wantErr: ErrLayerTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := buildTar(t, tc.entries...)
			got := map[string]string{}
			res, err := Walk(context.Background(), bytes.NewReader(data), tc.lim, tc.want,
				func(p string, _ fs.FileMode, b []byte) error {
					got[p] = string(b)
					return nil
				})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Walk: %v", err)
			}
			if tc.files == nil {
				tc.files = map[string]string{}
			}
			if !reflect.DeepEqual(got, tc.files) {
				t.Errorf("files = %v, want %v", got, tc.files)
			}
			if !equalSorted(res.Whiteouts, tc.whiteouts) {
				t.Errorf("whiteouts = %v, want %v", res.Whiteouts, tc.whiteouts)
			}
			if !equalSorted(res.OpaqueDirs, tc.opaque) {
				t.Errorf("opaque = %v, want %v", res.OpaqueDirs, tc.opaque)
			}
			if len(res.Warnings) != len(tc.warnings) {
				t.Fatalf("warnings = %q, want %d matching %q", res.Warnings, len(tc.warnings), tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(res.Warnings[i], w) {
					t.Errorf("warning[%d] = %q, want it to contain %q", i, res.Warnings[i], w)
				}
			}
			if res.Entries != len(tc.entries) {
				t.Errorf("entries = %d, want %d", res.Entries, len(tc.entries))
			}
			if res.Bytes != int64(len(data)) {
				t.Errorf("bytes = %d, want %d", res.Bytes, len(data))
			}
		})
	}
}

func equalSorted(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestWalkCorrupt(t *testing.T) {
	good := buildTar(t, entry{name: "a", body: strings.Repeat("a", 2000)}, entry{name: "b", body: "b"})
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated in file body", good[:1000]},
		{"truncated in header", good[:100]},
		{"garbage header", append(bytes.Repeat([]byte{0xff}, 512), make([]byte, 1024)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Walk(context.Background(), bytes.NewReader(tc.data), Limits{}, wantAll,
				func(string, fs.FileMode, []byte) error { return nil })
			if err == nil {
				t.Fatal("Walk of a corrupt tar succeeded")
			}
		})
	}
}

func TestWalkCancelled(t *testing.T) {
	data := buildTar(t, entry{name: "a", body: "1"}, entry{name: "b", body: "2"})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Walk(ctx, bytes.NewReader(data), Limits{}, wantAll, func(string, fs.FileMode, []byte) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n != 1 {
		t.Fatalf("fn called %d times after cancel, want 1", n)
	}
}

func TestWalkFnError(t *testing.T) {
	data := buildTar(t, entry{name: "a", body: "1"}, entry{name: "b", body: "2"})
	boom := errors.New("boom")
	_, err := Walk(context.Background(), bytes.NewReader(data), Limits{}, wantAll,
		func(string, fs.FileMode, []byte) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestDefaultLimits(t *testing.T) {
	d := DefaultLimits()
	if d.MaxFileSize != 512<<20 || d.MaxLayerSize != 32<<30 || d.MaxEntries != 5_000_000 {
		t.Fatalf("DefaultLimits = %+v", d)
	}
	if got := (Limits{MaxEntries: 7}).WithDefaults(); got.MaxEntries != 7 || got.MaxFileSize != d.MaxFileSize {
		t.Fatalf("withDefaults = %+v", got)
	}
}

// seedTars are the fuzz seeds, benign and malicious.
func seedTars(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"plain":     buildTar(t, entry{name: "etc/os-release", body: "ID=x\n"}, entry{name: "usr/", typ: tar.TypeDir}),
		"whiteouts": buildTar(t, entry{name: "a/.wh.b"}, entry{name: "c/.wh..wh..opq"}, entry{name: ".wh.."}),
		"traversal": buildTar(t, entry{name: "../../etc/passwd", body: "x"}, entry{name: "/../x", body: "y"}),
		"symlink":   buildTar(t, entry{name: "l", typ: tar.TypeSymlink, linkname: "/etc/shadow"}, entry{name: "l/f", body: "z"}),
		"hardlink":  buildTar(t, entry{name: "a", body: "data"}, entry{name: "b", typ: tar.TypeLink, linkname: "a"}, entry{name: "c", typ: tar.TypeLink, linkname: "../a"}),
		"truncated": buildTar(t, entry{name: "a", body: strings.Repeat("q", 700)})[:600],
		"empty":     {},
	}
}

func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzWalk")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzWalk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seedTars(t) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzWalk(f *testing.F) {
	for _, d := range seedTars(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxFileSize: 1 << 16, MaxLayerSize: 1 << 20, MaxEntries: 1000, MaxLinkBytes: 1 << 16}
		res, _ := Walk(context.Background(), bytes.NewReader(data), lim, wantAll,
			func(p string, _ fs.FileMode, b []byte) error {
				if p == "" || strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
					t.Fatalf("delivered unsafe path %q", p)
				}
				if int64(len(b)) > lim.MaxFileSize {
					t.Fatalf("delivered %d bytes over the file limit", len(b))
				}
				return nil
			})
		for _, p := range append(res.Whiteouts, res.OpaqueDirs...) {
			if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
				t.Fatalf("recorded unsafe path %q", p)
			}
		}
		if res.Bytes > lim.MaxLayerSize {
			t.Fatalf("read %d bytes over the layer limit", res.Bytes)
		}
	})
}

// BenchmarkWalk walks a ~50 MB synthetic layer in which a few files are wanted.
func BenchmarkWalk(b *testing.B) {
	var es []entry
	body := strings.Repeat("0123456789abcdef", 64*1024/16) // 64 KiB
	for i := 0; i*len(body) < 50<<20; i++ {
		es = append(es, entry{name: fmt.Sprintf("usr/share/data/%04d/file.bin", i), body: body})
		es = append(es, entry{name: fmt.Sprintf("usr/lib/python3/site-packages/p%d/METADATA", i), body: "Name: p\nVersion: 1\n"})
	}
	data := buildTar(b, es...)
	want := wantPrefix("usr/lib/python3/")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Walk(context.Background(), bytes.NewReader(data), Limits{}, want,
			func(string, fs.FileMode, []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
