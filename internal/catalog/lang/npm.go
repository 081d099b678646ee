package lang

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// NPMLock lists the packages of an npm package-lock.json (lockfileVersion 1,
// 2 and 3).
//
// It leaves out node_modules/.package-lock.json (npm's hidden lock file of
// the installed tree) and any lock file under node_modules: the installed
// tree is cataloged from its package.json files by NPMPackage, and reading
// both would report every package twice.
func NPMLock() catalog.Cataloger {
	return &cataloger{
		name: "npm-lock", version: 1,
		wants: manifestWants(func(p string) bool {
			return base(p) == "package-lock.json" && !inNodeModules(p)
		}),
		parse: parseNPMLock,
	}
}

// NPMPackage lists installed npm packages from node_modules/**/package.json.
func NPMPackage() catalog.Cataloger {
	return &cataloger{
		name: "npm-package", version: 1,
		wants: manifestWants(isNodeModulesManifest),
		parse: parseNPMPackage,
	}
}

func inNodeModules(p string) bool {
	return strings.HasPrefix(p, "node_modules/") || strings.Contains(p, "/node_modules/")
}

// isNodeModulesManifest accepts node_modules/<name>/package.json and
// node_modules/@scope/<name>/package.json; package.json files deeper inside
// a package (test fixtures, sub-entry points) are not installed packages.
func isNodeModulesManifest(p string) bool {
	if base(p) != "package.json" {
		return false
	}
	parts := strings.Split(p, "/")
	n := len(parts)
	if n >= 3 && parts[n-3] == "node_modules" && !strings.HasPrefix(parts[n-2], ".") {
		return true
	}
	return n >= 4 && parts[n-4] == "node_modules" && strings.HasPrefix(parts[n-3], "@")
}

// npmPackage is a package as every npm cataloger reports it.
func npmPackage(name, version string) model.Package {
	ns, n := "", name
	if strings.HasPrefix(name, "@") {
		if i := strings.IndexByte(name, '/'); i > 0 {
			ns, n = name[:i], name[i+1:]
		}
	}
	return model.Package{Name: name, Version: version, Type: model.TypeNPM, PURL: purl("npm", ns, n, version)}
}

// npmLicense reads the many shapes of package.json licences: "MIT",
// {"type": "MIT"}, or a legacy "licenses" array of either.
func npmLicense(raw ...json.RawMessage) []string {
	var out []string
	var one func(r json.RawMessage)
	one = func(r json.RawMessage) {
		if len(r) == 0 {
			return
		}
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, nonEmpty(s)...)
			return
		}
		var obj struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(r, &obj) == nil && obj.Type != "" {
			out = append(out, nonEmpty(obj.Type)...)
			return
		}
		var list []json.RawMessage
		if json.Unmarshal(r, &list) == nil {
			for _, e := range list {
				var o struct {
					Type string `json:"type"`
				}
				var s string
				if json.Unmarshal(e, &s) == nil {
					out = append(out, nonEmpty(s)...)
				} else if json.Unmarshal(e, &o) == nil {
					out = append(out, nonEmpty(o.Type)...)
				}
			}
		}
	}
	for _, r := range raw {
		one(r)
	}
	return out
}

// npmLockEntry is one "packages" entry of a v2/v3 lock file.
type npmLockEntry struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	Dev     bool            `json:"dev"`
	Link    bool            `json:"link"`
	License json.RawMessage `json:"license"`
}

// npmV1Entry is one "dependencies" entry of a v1 lock file, nesting the
// copies installed below it.
type npmV1Entry struct {
	Version      string                `json:"version"`
	Dev          bool                  `json:"dev"`
	Dependencies map[string]npmV1Entry `json:"dependencies"`
}

func parseNPMLock(_ context.Context, f catalog.File) ([]model.Package, error) {
	if err := checkSize(f); err != nil {
		return nil, err
	}
	var doc struct {
		LockfileVersion int                     `json:"lockfileVersion"`
		Packages        map[string]npmLockEntry `json:"packages"`
		Dependencies    json.RawMessage         `json:"dependencies"`
	}
	if err := json.Unmarshal(f.Data, &doc); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	acc := newNPMAccumulator()
	if doc.Packages != nil {
		// v2 and v3: a flat map keyed by install location.
		for key, e := range doc.Packages {
			i := strings.LastIndex(key, "node_modules/")
			if i < 0 || e.Link {
				continue // the root project (""), workspaces and links
			}
			name := e.Name
			if name == "" {
				name = key[i+len("node_modules/"):]
			}
			acc.add(name, e.Version, e.Dev, npmLicense(e.License))
		}
		return acc.packages(), nil
	}
	// v1: a tree of "dependencies".
	var deps map[string]npmV1Entry
	if len(doc.Dependencies) > 0 {
		if err := json.Unmarshal(doc.Dependencies, &deps); err != nil {
			return nil, fmt.Errorf("decode dependencies: %w", err)
		}
	}
	var walk func(m map[string]npmV1Entry)
	walk = func(m map[string]npmV1Entry) {
		for name, e := range m {
			if !strings.HasPrefix(e.Version, "file:") && !strings.HasPrefix(e.Version, "link:") {
				acc.add(name, e.Version, e.Dev, nil)
			}
			walk(e.Dependencies)
		}
	}
	walk(deps)
	return acc.packages(), nil
}

// npmAccumulator folds the copies of one name@version that a lock file
// installs at several places into one package, dev only if every copy is.
type npmAccumulator struct {
	byKey map[string]*model.Package
}

func newNPMAccumulator() *npmAccumulator { return &npmAccumulator{byKey: map[string]*model.Package{}} }

func (a *npmAccumulator) add(name, version string, dev bool, licenses []string) {
	if name == "" || version == "" {
		return
	}
	k := name + "@" + version
	if p, ok := a.byKey[k]; ok {
		p.Dev = p.Dev && dev
		if len(p.Licenses) == 0 {
			p.Licenses = licenses
		}
		return
	}
	p := npmPackage(name, version)
	p.Dev, p.Licenses = dev, licenses
	a.byKey[k] = &p
}

func (a *npmAccumulator) packages() []model.Package {
	keys := make([]string, 0, len(a.byKey))
	for k := range a.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]model.Package, 0, len(keys))
	for _, k := range keys {
		out = append(out, *a.byKey[k])
	}
	return out
}

func parseNPMPackage(_ context.Context, f catalog.File) ([]model.Package, error) {
	if err := checkSize(f); err != nil {
		return nil, err
	}
	var doc struct {
		Name     string          `json:"name"`
		Version  string          `json:"version"`
		License  json.RawMessage `json:"license"`
		Licenses json.RawMessage `json:"licenses"`
	}
	if err := json.Unmarshal(f.Data, &doc); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if doc.Name == "" || doc.Version == "" {
		return nil, nil // a package.json that does not describe a published package
	}
	p := npmPackage(doc.Name, doc.Version)
	p.Licenses = npmLicense(doc.License, doc.Licenses)
	return []model.Package{p}, nil
}
