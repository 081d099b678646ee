package lang

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

const depsJSON = `{"targets":{},"libraries":{
 "MyApp/1.0.0":{"type":"project","serviceable":false},
 "Newtonsoft.Json/13.0.1":{"type":"package","serviceable":true},
 "Serilog/2.10.0":{"type":"package"},
 "System.Private.CoreLib":{"type":"package"},
 "Ref/1.0.0":{"type":"reference"}}}`

const nugetLock = `{"version":1,"dependencies":{
 "net6.0":{"Newtonsoft.Json":{"type":"Direct","requested":"[12.0.3, )","resolved":"12.0.3"},
           "MyLib":{"type":"Project"}},
 "net8.0":{"Newtonsoft.Json":{"type":"Direct","resolved":"12.0.3"},
           "System.Memory":{"type":"Transitive","resolved":"4.5.4"}}}}`

func TestDotNet(t *testing.T) {
	cases := []struct {
		name, path, data string
		want             [][2]string
	}{
		{"deps.json", "app/MyApp.deps.json", depsJSON, [][2]string{{"Newtonsoft.Json", "13.0.1"}, {"Serilog", "2.10.0"}}},
		{"packages.lock.json", "src/packages.lock.json", nugetLock, [][2]string{{"Newtonsoft.Json", "12.0.3"}, {"System.Memory", "4.5.4"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := mustParse(t, DotNet(), catalog.File{Path: tc.path, Data: []byte(tc.data)})
			if len(pkgs) != len(tc.want) {
				t.Fatalf("got %d packages, want %d: %+v", len(pkgs), len(tc.want), pkgs)
			}
			for _, w := range tc.want {
				if p := find(t, pkgs, w[0], w[1]); p.PURL != "pkg:nuget/"+w[0]+"@"+w[1] {
					t.Errorf("purl %q", p.PURL)
				}
			}
		})
	}
	for _, bad := range []struct{ path, data string }{
		{"a.deps.json", ""}, {"a.deps.json", "{"}, {"a.deps.json", `{"libraries": []}`},
		{"packages.lock.json", "["}, {"packages.lock.json", `{"dependencies": {"net8.0": []}}`},
	} {
		if _, err := DotNet().Parse(context.Background(), catalog.File{Path: bad.path, Data: []byte(bad.data)}); err == nil {
			t.Errorf("Parse(%s, %q): want error", bad.path, bad.data)
		}
	}
	checkWants(t, DotNet(), []wantsCase{
		{"app/MyApp.deps.json", 0o644, 10, true},
		{"app/.deps.json", 0o644, 10, false},
		{"src/packages.lock.json", 0o644, 10, true},
		{"app/MyApp.runtimeconfig.json", 0o644, 10, false},
	})
}

func TestDotNetFixtures(t *testing.T) {
	cases := []struct {
		rel           string
		count         int
		name, version string
	}{
		{"dotnet/trivy-integration-nuget/packages.lock.json", 2, "Newtonsoft.Json", "12.0.3"},
		{"dotnet/syft-net8-app/packages.lock.json", 51, "Humanizer", "2.14.1"},
		{"dotnet/syft-dir-example-1/TestLibrary.deps.json", 12, "Newtonsoft.Json", "13.0.1"},
		{"dotnet/syft-net8-single-file/net8-app-single-file.deps.json", 51, "Humanizer.Core", "2.14.1"},
	}
	for _, tc := range cases {
		pkgs := mustParse(t, DotNet(), fixture(t, tc.rel))
		if len(pkgs) != tc.count {
			t.Errorf("%s: got %d packages, want %d", tc.rel, len(pkgs), tc.count)
		}
		find(t, pkgs, tc.name, tc.version)
		if hasName(pkgs, "TestLibrary") {
			t.Errorf("%s: project entry reported", tc.rel)
		}
	}
}

func FuzzDotNet(f *testing.F) {
	f.Add([]byte(depsJSON), false)
	f.Add([]byte(nugetLock), true)
	c := DotNet()
	f.Fuzz(func(t *testing.T, data []byte, lock bool) {
		path := "x.deps.json"
		if lock {
			path = "packages.lock.json"
		}
		fuzzParse(t, c, path, data)
	})
}
