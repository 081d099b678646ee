package lang

import (
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// fixtureRoot is the shared package-database fixtures, a sibling of the
// module root.
const fixtureRoot = "../../../../shared/fixtures/pkgdb"

// fixture reads one shared fixture file, skipping the test when the
// shared data is absent.
func fixture(t testing.TB, rel string) catalog.File {
	t.Helper()
	p := filepath.Join(fixtureRoot, rel)
	data, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		testenv.Skipf(t, "needs ../shared/fixtures/pkgdb (%s): %v", rel, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return catalog.File{Path: rel, Mode: 0o644, Data: data}
}

func mustParse(t testing.TB, c catalog.Cataloger, f catalog.File) []model.Package {
	t.Helper()
	pkgs, err := c.Parse(context.Background(), f)
	if err != nil {
		t.Fatalf("%s.Parse(%s): %v", c.Name(), f.Path, err)
	}
	for _, p := range pkgs {
		if p.Cataloger != c.Name() {
			t.Errorf("%s@%s: cataloger %q, want %q", p.Name, p.Version, p.Cataloger, c.Name())
		}
		if p.PURL == "" || p.Type == "" {
			t.Errorf("%s@%s: missing purl or type: %+v", p.Name, p.Version, p)
		}
	}
	return pkgs
}

// find returns the package of that name and version, failing the test when
// it is missing.
func find(t testing.TB, pkgs []model.Package, name, version string) model.Package {
	t.Helper()
	for _, p := range pkgs {
		if p.Name == name && p.Version == version {
			return p
		}
	}
	t.Fatalf("package %s@%s not found among %d packages", name, version, len(pkgs))
	return model.Package{}
}

func hasName(pkgs []model.Package, name string) bool {
	for _, p := range pkgs {
		if p.Name == name {
			return true
		}
	}
	return false
}

// wantsCase is one row of a Wants table.
type wantsCase struct {
	path string
	mode fs.FileMode
	size int64
	want bool
}

func checkWants(t *testing.T, c catalog.Cataloger, cases []wantsCase) {
	t.Helper()
	for _, tc := range cases {
		if got := c.Wants(tc.path, tc.mode, tc.size); got != tc.want {
			t.Errorf("%s.Wants(%q, %v, %d) = %v, want %v", c.Name(), tc.path, tc.mode, tc.size, got, tc.want)
		}
	}
}

// fuzzParse runs a cataloger's parser on arbitrary bytes: it may return an
// error but never panic, and whatever it returns must be well formed. It
// calls the parser under the panic guard so the fuzzer sees real panics.
func fuzzParse(t *testing.T, c catalog.Cataloger, path string, data []byte) {
	pkgs, err := c.(*cataloger).parse(context.Background(), catalog.File{Path: path, Mode: 0o755, Data: data})
	if err != nil {
		return
	}
	for _, p := range pkgs {
		if p.Name == "" || p.Type == "" || p.PURL == "" {
			t.Fatalf("malformed package %+v", p)
		}
	}
}
