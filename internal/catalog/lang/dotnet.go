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

// DotNet lists NuGet packages from *.deps.json (what a published .NET app
// loads) and packages.lock.json (NuGet's lock file).
func DotNet() catalog.Cataloger {
	return &cataloger{
		name: "dotnet", version: 1,
		wants: manifestWants(func(p string) bool {
			b := base(p)
			return b == "packages.lock.json" || (strings.HasSuffix(b, ".deps.json") && len(b) > len(".deps.json"))
		}),
		parse: parseDotNet,
	}
}

func parseDotNet(_ context.Context, f catalog.File) ([]model.Package, error) {
	if err := checkSize(f); err != nil {
		return nil, err
	}
	if base(f.Path) == "packages.lock.json" {
		return parseNuGetLock(f.Data)
	}
	return parseDepsJSON(f.Data)
}

func parseDepsJSON(data []byte) ([]model.Package, error) {
	var doc struct {
		Libraries map[string]struct {
			Type string `json:"type"`
		} `json:"libraries"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode deps.json: %w", err)
	}
	seen := map[string]bool{}
	for key, lib := range doc.Libraries {
		// "project" and "reference" entries are the app's own assemblies.
		if lib.Type != "package" {
			continue
		}
		seen[key] = true
	}
	var pkgs []model.Package
	for _, key := range sortedKeys(seen) {
		name, version, ok := strings.Cut(key, "/")
		if !ok || name == "" || version == "" {
			continue
		}
		pkgs = append(pkgs, nugetPackage(name, version, false))
	}
	return pkgs, nil
}

func parseNuGetLock(data []byte) ([]model.Package, error) {
	var doc struct {
		Dependencies map[string]map[string]struct {
			Type     string `json:"type"`
			Resolved string `json:"resolved"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode packages.lock.json: %w", err)
	}
	// The same package is listed once per target framework.
	seen := map[string]bool{}
	for _, deps := range doc.Dependencies {
		for name, d := range deps {
			// "Project" entries are the solution's own projects; a "/" cannot
			// occur in a NuGet id and would break the name/version key.
			if strings.EqualFold(d.Type, "Project") || name == "" || d.Resolved == "" || strings.Contains(name, "/") {
				continue
			}
			seen[name+"/"+d.Resolved] = true
		}
	}
	var pkgs []model.Package
	for _, key := range sortedKeys(seen) {
		name, version, _ := strings.Cut(key, "/")
		pkgs = append(pkgs, nugetPackage(name, version, false))
	}
	return pkgs, nil
}

func nugetPackage(name, version string, dev bool) model.Package {
	return model.Package{Name: name, Version: version, Type: model.TypeNuGet, PURL: purl("nuget", "", name, version), Dev: dev}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
