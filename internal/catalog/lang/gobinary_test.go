package lang

import (
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

var goBin struct {
	once sync.Once
	data []byte
	err  error
	skip string
}

// builtGoBinary builds, once per test binary, a tiny main package that
// depends on two old modules, one of them replaced.
func builtGoBinary(t testing.TB) []byte {
	t.Helper()
	goBin.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goBin.skip = "needs the go tool on PATH to build a fixture binary"
			return
		}
		dir, err := os.MkdirTemp("", "bulwark-gobin-")
		if err != nil {
			goBin.err = err
			return
		}
		defer os.RemoveAll(dir)
		files := map[string]string{
			"go.mod": `module example.com/tinyapp

go 1.21

require (
	github.com/gorilla/websocket v1.4.0
	golang.org/x/text v0.3.7
)

replace github.com/gorilla/websocket => github.com/gorilla/websocket v1.4.2
`,
			"main.go": `package main

import (
	"fmt"

	"github.com/gorilla/websocket"
	"golang.org/x/text/language"
)

func main() { fmt.Println(language.English, websocket.TextMessage) }
`,
		}
		for name, body := range files {
			if goBin.err = os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); goBin.err != nil {
				return
			}
		}
		out := filepath.Join(dir, "app")
		cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-buildid=", "-o", out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			goBin.skip = "cannot build fixture binary (module proxy unreachable?): " + err.Error() + "\n" + string(msg)
			return
		}
		goBin.data, goBin.err = os.ReadFile(out)
	})
	if goBin.skip != "" {
		testenv.Skipf(t, "%s", goBin.skip)
	}
	if goBin.err != nil {
		t.Fatal(goBin.err)
	}
	return goBin.data
}

func TestGoBinary(t *testing.T) {
	data := builtGoBinary(t)
	c := GoBinary()
	pkgs := mustParse(t, c, catalog.File{Path: "usr/local/bin/app", Mode: 0o755, Data: data})
	if len(pkgs) != 4 {
		t.Fatalf("got %d packages, want 4 (2 deps, main, stdlib): %+v", len(pkgs), pkgs)
	}
	text := find(t, pkgs, "golang.org/x/text", "v0.3.7")
	if text.PURL != "pkg:golang/golang.org/x/text@v0.3.7" || text.Type != model.TypeGo {
		t.Errorf("x/text: purl %q type %q", text.PURL, text.Type)
	}
	if text.Metadata["replaces"] != "" {
		t.Errorf("x/text: unexpected replaces %q", text.Metadata["replaces"])
	}
	ws := find(t, pkgs, "github.com/gorilla/websocket", "v1.4.2")
	if ws.Metadata["replaces"] != "github.com/gorilla/websocket@v1.4.0" {
		t.Errorf("websocket replaces = %q", ws.Metadata["replaces"])
	}
	main := find(t, pkgs, "example.com/tinyapp", "(devel)")
	if main.Metadata["main"] != "true" {
		t.Errorf("main module metadata %v", main.Metadata)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info for the test binary")
	}
	std := find(t, pkgs, "stdlib", goStdlibVersion(bi.GoVersion))
	if std.PURL != "pkg:golang/stdlib@"+std.Version {
		t.Errorf("stdlib purl %q", std.PURL)
	}
	for _, p := range pkgs {
		if p.Metadata["go_version"] != bi.GoVersion {
			t.Errorf("%s: go_version %q, want %q", p.Name, p.Metadata["go_version"], bi.GoVersion)
		}
	}
}

func TestGoBinaryNotGo(t *testing.T) {
	ls, _ := os.ReadFile("/bin/ls")
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("#!/bin/sh\necho hello world, this is a script\n")},
		{"elf magic only", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00garbage")},
		{"pe magic only", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")},
		{"macho magic only", []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00")},
		{"fat macho magic only", []byte("\xca\xfe\xba\xbe\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00")},
	}
	if len(ls) > 0 {
		cases = append(cases, struct {
			name string
			data []byte
		}{"C binary /bin/ls", ls})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs, err := GoBinary().Parse(context.Background(), catalog.File{Path: "bin/x", Mode: 0o755, Data: tc.data})
			if err != nil || pkgs != nil {
				t.Errorf("got %v, %v; want nil, nil", pkgs, err)
			}
		})
	}
}

func TestGoBinaryWants(t *testing.T) {
	checkWants(t, GoBinary(), []wantsCase{
		{"usr/bin/app", 0o755, 1000, true},
		{"usr/bin/app", 0o100, 1000, true},
		{"usr/bin/app", 0o644, 1000, false},
		{"usr/bin/app", 0o755, 0, false},
		{"usr/bin/huge", 0o755, maxBinarySize + 1, false},
	})
}

func TestGoStdlibVersion(t *testing.T) {
	for in, want := range map[string]string{
		"go1.22.4":                "1.22.4",
		"go1.22.4 X:boringcrypto": "1.22.4",
		"go1.21.6-fips":           "1.21.6",
		"go1.20":                  "1.20.0",
		"go1.21rc2":               "1.21.0-rc.2",
		"go1.18beta1":             "1.18.0-beta.1",
		"devel go1.23-abcdef Tue": "",
		"":                        "",
		"1.22.4":                  "",
	} {
		if got := goStdlibVersion(in); got != want {
			t.Errorf("goStdlibVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoBuildInfoLocalReplace(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.22.4",
		Main:      debug.Module{Path: "example.com/m", Version: "v1.0.0"},
		Deps: []*debug.Module{
			{Path: "example.com/dep", Version: "v0.1.0", Replace: &debug.Module{Path: "../dep"}},
			nil,
			{Path: ""},
		},
	}
	pkgs := goBuildInfoPackages(bi)
	if len(pkgs) != 3 {
		t.Fatalf("got %d packages, want 3: %+v", len(pkgs), pkgs)
	}
	dep := find(t, pkgs, "../dep", "")
	if dep.Metadata["replaces"] != "example.com/dep@v0.1.0" {
		t.Errorf("replaces = %q", dep.Metadata["replaces"])
	}
	find(t, pkgs, "example.com/m", "v1.0.0")
	find(t, pkgs, "stdlib", "1.22.4")
}

// BenchmarkGoBinaryNotGo measures the path almost every executable of an
// image takes: an ELF that is not a Go binary.
func BenchmarkGoBinaryNotGo(b *testing.B) {
	data, err := os.ReadFile("/bin/ls")
	if err != nil {
		b.Skip("needs /bin/ls")
	}
	c, f := GoBinary(), catalog.File{Path: "bin/ls", Mode: 0o755, Data: data}
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if pkgs, err := c.Parse(ctx, f); pkgs != nil || err != nil {
			b.Fatal(pkgs, err)
		}
	}
}

func BenchmarkGoBinary(b *testing.B) {
	data := builtGoBinary(b)
	c, f := GoBinary(), catalog.File{Path: "app", Mode: 0o755, Data: data}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Parse(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzGoBinary(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"))
	c := GoBinary()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "bin/x", data) })
}
