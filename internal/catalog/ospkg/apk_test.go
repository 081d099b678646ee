package ospkg

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const apkSample = `C:Q1p78yvTLG094tHE1+dToJGqmYjDE=
P:musl
V:1.2.4-r0
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1682616218
c:e9f0ff8ff9bb5c9d3b2bb4b5b0e8a4ea12ff0d82
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755

P:libcrypto3
V:3.1.0-r4
A:x86_64
L:Apache-2.0
o:openssl
D:so:libc.musl-x86_64.so.1

P:noorigin
V:1-r0
`

func TestAPKParse(t *testing.T) {
	want := []model.Package{
		{Name: "musl", Version: "1.2.4-r0", Type: model.TypeAPK, Arch: "x86_64", SourceName: "musl", SourceVersion: "1.2.4-r0",
			Licenses: []string{"MIT"}, Metadata: map[string]string{"maintainer": "Timo Teräs <timo.teras@iki.fi>"}},
		{Name: "libcrypto3", Version: "3.1.0-r4", Type: model.TypeAPK, Arch: "x86_64", SourceName: "openssl", SourceVersion: "3.1.0-r4", Licenses: []string{"Apache-2.0"}},
		{Name: "noorigin", Version: "1-r0", Type: model.TypeAPK, SourceName: "noorigin", SourceVersion: "1-r0"},
	}
	for i := range want {
		want[i].Cataloger = "apk"
	}
	for _, tc := range []struct{ name, data string }{
		{"lf", apkSample},
		{"crlf", strings.ReplaceAll(apkSample, "\n", "\r\n")},
		{"no trailing newline", strings.TrimRight(apkSample, "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := APK().Parse(context.Background(), catalog.File{Path: "lib/apk/db/installed", Data: []byte(tc.data)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestAPKMalformed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		want    []string
		wantErr bool
	}{
		{"bad record skipped", "P:a\nV:1\n\nP:b\ngarbage line\nV:2\n\nP:c\nV:3\n", []string{"a", "c"}, false},
		{"missing version skipped", "P:a\n\nP:c\nV:3\n", []string{"c"}, false},
		{"not apk at all", "{\"json\": true}\n", nil, true},
		{"empty", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := APK().Parse(context.Background(), catalog.File{Path: "lib/apk/db/installed", Data: []byte(tc.data)})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Errorf("packages = %v, want %v", names, tc.want)
			}
		})
	}
}

func TestAPKWants(t *testing.T) {
	c := APK()
	if !c.Wants("lib/apk/db/installed", 0o644, 10) {
		t.Error("does not want lib/apk/db/installed")
	}
	for _, p := range []string{"lib/apk/db/triggers", "usr/lib/apk/db/installed", "lib/apk/db/installed.bak"} {
		if c.Wants(p, 0o644, 10) {
			t.Errorf("wants %s", p)
		}
	}
	if c.Wants("lib/apk/db/installed", 0o644, apkMaxSize+1) {
		t.Error("wants an oversized database")
	}
}

func FuzzAPK(f *testing.F) {
	f.Add([]byte(apkSample))
	f.Add([]byte("P:a\r\nV:1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := APK().Parse(context.Background(), catalog.File{Path: "lib/apk/db/installed", Data: data})
		if err != nil && pkgs != nil {
			t.Fatal("packages returned with an error")
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || p.SourceName == "" || p.SourceVersion != p.Version {
				t.Fatalf("bad package %+v", p)
			}
		}
	})
}

func BenchmarkAPK(b *testing.B) {
	data := []byte(strings.Repeat(apkSample+"\n", 200))
	c := APK()
	f := catalog.File{Path: "lib/apk/db/installed", Data: data}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Parse(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
}
