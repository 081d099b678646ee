package lang

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

type zipEntry struct {
	name string
	data []byte
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pomProps(g, a, v string) zipEntry {
	return zipEntry{"META-INF/maven/" + g + "/" + a + "/pom.properties", []byte("#Generated\ngroupId=" + g + "\nartifactId=" + a + "\nversion=" + v + "\n")}
}

func TestJava(t *testing.T) {
	lib := makeZip(t, pomProps("com.fasterxml.jackson.core", "jackson-databind", "2.9.1"))
	manifestOnly := makeZip(t, zipEntry{"META-INF/MANIFEST.MF", []byte("Manifest-Version: 1.0\r\nBundle-SymbolicName: org.osgi.thing;singleton:=true\r\nBundle-Version: 3.1.0\r\nBundle-License: EPL-2.0\r\nImplementation-Vendor-Id: org.osgi\r\n\r\nName: x/Y.class\r\nImplementation-Version: 9\r\n")})
	bare := makeZip(t, zipEntry{"a/B.class", []byte{0xca, 0xfe}})
	war := makeZip(t,
		pomProps("com.example", "webapp", "1.0.0"),
		zipEntry{"WEB-INF/lib/jackson-databind-2.9.1.jar", lib},
		zipEntry{"WEB-INF/lib/osgi.jar", manifestOnly},
		zipEntry{"WEB-INF/lib/commons-lang-2.6.jar", bare},
		zipEntry{"WEB-INF/lib/broken-1.0.jar", []byte("not a zip")},
	)
	type want struct{ name, version, purl, path string }
	cases := []struct {
		name, path string
		data       []byte
		want       []want
	}{
		{"pom.properties", "app/lib.jar", lib, []want{{"com.fasterxml.jackson.core:jackson-databind", "2.9.1", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.1", ""}}},
		{"manifest", "app/x.jar", manifestOnly, []want{{"org.osgi:org.osgi.thing", "3.1.0", "pkg:maven/org.osgi/org.osgi.thing@3.1.0", ""}}},
		{"file name", "app/commons-lang-2.6.jar", bare, []want{{"commons-lang", "2.6", "pkg:maven/commons-lang@2.6", ""}}},
		{"nothing", "app/thing.jar", bare, nil},
		{"nested war", "srv/app.war", war, []want{
			{"com.example:webapp", "1.0.0", "pkg:maven/com.example/webapp@1.0.0", ""},
			{"com.fasterxml.jackson.core:jackson-databind", "2.9.1", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.1", "!WEB-INF/lib/jackson-databind-2.9.1.jar"},
			{"org.osgi:org.osgi.thing", "3.1.0", "pkg:maven/org.osgi/org.osgi.thing@3.1.0", "!WEB-INF/lib/osgi.jar"},
			{"commons-lang", "2.6", "pkg:maven/commons-lang@2.6", "!WEB-INF/lib/commons-lang-2.6.jar"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := mustParse(t, Java(), catalog.File{Path: tc.path, Data: tc.data})
			if len(pkgs) != len(tc.want) {
				t.Fatalf("got %d packages, want %d: %+v", len(pkgs), len(tc.want), pkgs)
			}
			for _, w := range tc.want {
				p := find(t, pkgs, w.name, w.version)
				if p.PURL != w.purl || p.Path != w.path {
					t.Errorf("%s: purl %q path %q, want %q %q", w.name, p.PURL, p.Path, w.purl, w.path)
				}
			}
		})
	}
	osgi := mustParse(t, Java(), catalog.File{Path: "x.jar", Data: manifestOnly})
	if len(osgi[0].Licenses) != 1 || osgi[0].Licenses[0] != "EPL-2.0" {
		t.Errorf("Bundle-License not read: %+v", osgi[0])
	}
}

func TestJavaDepthLimit(t *testing.T) {
	// Six levels of nesting; only maxJavaDepth of them are opened.
	inner := makeZip(t, pomProps("g", "level5", "1"))
	for i := 4; i >= 0; i-- {
		inner = makeZip(t, pomProps("g", "level"+string(rune('0'+i)), "1"), zipEntry{"lib/inner.jar", inner})
	}
	pkgs := mustParse(t, Java(), catalog.File{Path: "deep.jar", Data: inner})
	if len(pkgs) != maxJavaDepth {
		t.Fatalf("got %d packages, want %d", len(pkgs), maxJavaDepth)
	}
	find(t, pkgs, "g:level3", "1")
	if p := find(t, pkgs, "g:level2", "1"); p.Path != "!lib/inner.jar!lib/inner.jar" {
		t.Errorf("level2 path %q", p.Path)
	}
}

func TestJavaZipBomb(t *testing.T) {
	big := zipEntry{"lib/zeros.jar", make([]byte, 4<<20)} // compresses to a few KiB
	data := makeZip(t, pomProps("g", "a", "1"), big)
	budget := int64(1 << 20)
	_, err := parseJavaArchive(context.Background(), data, "bomb.jar", "", 0, &budget)
	if !errors.Is(err, errJavaBudget) {
		t.Fatalf("got %v, want the zip-bomb error", err)
	}
	budget = 8 << 20
	if _, err := parseJavaArchive(context.Background(), data, "bomb.jar", "", 0, &budget); err != nil {
		t.Fatalf("within budget: %v", err)
	}
}

func TestJavaErrors(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("PK\x03\x04garbage"), []byte(strings.Repeat("x", 100))} {
		if _, err := Java().Parse(context.Background(), catalog.File{Path: "x.jar", Data: data}); err == nil {
			t.Errorf("Parse(%q): want error", data)
		}
	}
}

func TestJavaWants(t *testing.T) {
	checkWants(t, Java(), []wantsCase{
		{"app/x.jar", 0o644, 100, true},
		{"app/X.JAR", 0o644, 100, true},
		{"opt/jenkins/plugins/git.hpi", 0o644, 100, true},
		{"srv/app.war", 0o644, 100, true},
		{"srv/app.ear", 0o644, 100, true},
		{"srv/jar", 0o644, 100, false},
		{"srv/x.jar.sha1", 0o644, 100, false},
		{"app/x.jar", 0o644, 0, false},
		{"app/x.jar", 0o644, maxJavaArchive + 1, false},
	})
}

func TestJavaFixtures(t *testing.T) {
	pkgs := mustParse(t, Java(), fixture(t, "java/jars/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar"))
	if len(pkgs) != 5 {
		t.Errorf("shaded guava: got %d packages, want 5", len(pkgs))
	}
	g := find(t, pkgs, "com.google.guava:guava", "29.0-jre")
	if g.Metadata["groupId"] != "com.google.guava" || g.Metadata["artifactId"] != "guava" || g.PURL != "pkg:maven/com.google.guava/guava@29.0-jre" {
		t.Errorf("guava: %+v", g)
	}
	find(t, pkgs, "org.apache.hadoop.thirdparty:hadoop-shaded-guava", "1.1.0-SNAPSHOT")

	pkgs = mustParse(t, Java(), fixture(t, "java/jars/nested.jar"))
	if len(pkgs) != 3 {
		t.Errorf("nested: got %d packages, want 3", len(pkgs))
	}
	if p := find(t, pkgs, "test:nested3", "0.0.3"); p.Path != "!META-INF/jars/nested2.jar!META-INF/jars/nested3.jar" {
		t.Errorf("nested3 path %q", p.Path)
	}
	pkgs = mustParse(t, Java(), fixture(t, "java/jars/multi-license-1.0.0.jar"))
	if len(pkgs) != 1 {
		t.Fatalf("multi-license: got %d packages", len(pkgs))
	}
	find(t, pkgs, "com.example:multi-license", "1.0.0")
}

func BenchmarkJavaNested(b *testing.B) {
	lib := makeZip(b, pomProps("g", "lib", "1.0"), zipEntry{"a/B.class", make([]byte, 64<<10)})
	entries := []zipEntry{pomProps("g", "app", "1.0")}
	for i := range 50 {
		entries = append(entries, zipEntry{"BOOT-INF/lib/lib-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".jar", lib})
	}
	f := catalog.File{Path: "app.jar", Data: makeZip(b, entries...)}
	c, ctx := Java(), context.Background()
	b.SetBytes(int64(len(f.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if pkgs, err := c.Parse(ctx, f); err != nil || len(pkgs) != 51 {
			b.Fatal(len(pkgs), err)
		}
	}
}

func FuzzJava(f *testing.F) {
	f.Add(makeZip(f, pomProps("g", "a", "1.0"), zipEntry{"META-INF/MANIFEST.MF", []byte("Implementation-Title: t\nImplementation-Version: 1\n")}))
	f.Add(makeZip(f, zipEntry{"lib/x-1.0.jar", makeZip(f, pomProps("g", "b", "2"))}))
	c := Java()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "app/x-1.0.jar", data) })
}
