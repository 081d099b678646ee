package analyze

import (
	"bufio"
	"bytes"
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const pkgdbDir = "../../../shared/fixtures/pkgdb"

// statusCataloger is a minimal dpkg status reader, enough to test layer
// attribution on real databases (the real one lives in catalog/ospkg).
type statusCataloger struct{}

func (statusCataloger) Name() string { return "test-dpkg" }
func (statusCataloger) Version() int { return 1 }
func (statusCataloger) Wants(p string, _ fs.FileMode, _ int64) bool {
	return p == "var/lib/dpkg/status"
}

func (statusCataloger) Parse(_ context.Context, f catalog.File) ([]model.Package, error) {
	var out []model.Package
	var cur model.Package
	installed := false
	flush := func() {
		if cur.Name != "" && installed {
			cur.Type = model.TypeDeb
			out = append(out, cur)
		}
		cur, installed = model.Package{}, false
	}
	sc := bufio.NewScanner(bytes.NewReader(f.Data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Package: "):
			cur.Name = strings.TrimPrefix(line, "Package: ")
		case strings.HasPrefix(line, "Version: "):
			cur.Version = strings.TrimPrefix(line, "Version: ")
		case strings.HasPrefix(line, "Status: "):
			installed = strings.HasSuffix(line, " installed")
		}
	}
	flush()
	return out, sc.Err()
}

// TestImageRealDpkgAttribution stacks the Debian 12 minbase database and the
// same system with curl/openssl added, as a base layer and a build layer.
func TestImageRealDpkgAttribution(t *testing.T) {
	base := filepath.Join(pkgdbDir, "dpkg/debian-12-minbase/var/lib/dpkg/status")
	plus := filepath.Join(pkgdbDir, "dpkg/debian-12-minbase-plus-curl-openssl/var/lib/dpkg/status")
	baseData, err1 := os.ReadFile(base)
	plusData, err2 := os.ReadFile(plus)
	if err1 != nil || err2 != nil {
		testenv.Skipf(t, "needs ../shared/fixtures/pkgdb (dpkg/debian-12-minbase and dpkg/debian-12-minbase-plus-curl-openssl)")
	}
	tbl, err := catalog.NewTable(statusCataloger{})
	if err != nil {
		t.Fatal(err)
	}
	img, meta := buildImage(t,
		tarLayer(t, file{"var/lib/dpkg/status", string(baseData)}),
		tarLayer(t, file{"var/lib/dpkg/status", string(plusData)}),
	)
	res, err := Image(context.Background(), img, meta, Options{Table: tbl})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 109 {
		t.Fatalf("%d packages, want 109 (README: minbase-plus-curl-openssl)", len(res.Packages))
	}
	layerOf := map[string]int{}
	for _, p := range res.Packages {
		layerOf[p.Name+"="+p.Version] = p.Layer.Index
	}
	for pv, want := range map[string]int{
		"libc6=2.36-9+deb12u14":         0,
		"bash=5.2.15-2+b13":             0,
		"curl=7.88.1-10+deb12u15":       1,
		"libssl3=3.0.20-1~deb12u2":      1,
		"libsqlite3-0=3.40.1-2+deb12u2": 1,
	} {
		got, ok := layerOf[pv]
		if !ok {
			t.Errorf("%s not found", pv)
		} else if got != want {
			t.Errorf("%s attributed to layer %d, want %d", pv, got, want)
		}
	}
	n0 := 0
	for _, l := range layerOf {
		if l == 0 {
			n0++
		}
	}
	if n0 < 80 || n0 > 88 {
		t.Errorf("%d packages attributed to the base layer, want most of minbase's 88", n0)
	}
}
