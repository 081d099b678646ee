package catalog

import (
	"path"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Dedupe merges packages two catalogers report for one installation: an
// npm package listed in a project's package-lock.json and installed under
// that project's node_modules is one package, kept at its installed
// location (the evidence that it is really there) with the lock file's dev
// flag. Order is preserved otherwise.
func Dedupe(pkgs []model.Package) []model.Package {
	type key struct {
		typ           model.PackageType
		name, version string
		root          string
	}
	installed := map[key]int{} // index of the node_modules entry
	for i, p := range pkgs {
		if p.Type != model.TypeNPM {
			continue
		}
		if root, ok := npmInstallRoot(p.Path); ok {
			installed[key{p.Type, p.Name, p.Version, root}] = i
		}
	}
	if len(installed) == 0 {
		return pkgs
	}
	out := pkgs[:0:0]
	drop := map[int]bool{}
	for i, p := range pkgs {
		if p.Type != model.TypeNPM || !strings.HasSuffix(p.Path, "/package-lock.json") {
			continue
		}
		k := key{p.Type, p.Name, p.Version, path.Dir(p.Path)}
		if j, ok := installed[k]; ok {
			drop[i] = true
			// Only the lock file knows whether a dependency is dev-only.
			pkgs[j].Dev = p.Dev
		}
	}
	for i, p := range pkgs {
		if !drop[i] {
			out = append(out, p)
		}
	}
	return out
}

// npmInstallRoot returns the project directory of an installed package's
// manifest: "/app/node_modules/a/node_modules/b/package.json" → "/app".
func npmInstallRoot(p string) (string, bool) {
	i := strings.Index(p, "/node_modules/")
	if i < 0 || !strings.HasSuffix(p, "/package.json") {
		return "", false
	}
	if i == 0 {
		return "/", true
	}
	return p[:i], true
}
