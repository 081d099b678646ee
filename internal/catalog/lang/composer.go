package lang

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Composer lists PHP packages from composer.lock and from Composer's record
// of installed packages, vendor/composer/installed.json (Composer 1: an
// array; Composer 2: {"packages": [...], "dev-package-names": [...]}).
func Composer() catalog.Cataloger {
	return &cataloger{
		name: "php-composer", version: 1,
		wants: manifestWants(func(p string) bool {
			return base(p) == "composer.lock" || p == "vendor/composer/installed.json" ||
				strings.HasSuffix(p, "/vendor/composer/installed.json")
		}),
		parse: parseComposer,
	}
}

type composerPackage struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	License json.RawMessage `json:"license"`
}

func parseComposer(_ context.Context, f catalog.File) ([]model.Package, error) {
	if err := checkSize(f); err != nil {
		return nil, err
	}
	trimmed := bytes.TrimLeft(f.Data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []composerPackage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("decode JSON: %w", err)
		}
		return composerPackages(list, nil, false), nil
	}
	var doc struct {
		Packages        []composerPackage `json:"packages"`
		PackagesDev     []composerPackage `json:"packages-dev"`
		DevPackageNames []string          `json:"dev-package-names"`
	}
	if err := json.Unmarshal(trimmed, &doc); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	devNames := map[string]bool{}
	for _, n := range doc.DevPackageNames {
		devNames[n] = true
	}
	pkgs := composerPackages(doc.Packages, devNames, false)
	return append(pkgs, composerPackages(doc.PackagesDev, nil, true)...), nil
}

func composerPackages(list []composerPackage, devNames map[string]bool, dev bool) []model.Package {
	out := make([]model.Package, 0, len(list))
	for _, c := range list {
		vendor, name, ok := strings.Cut(c.Name, "/")
		if !ok || vendor == "" || name == "" || c.Version == "" {
			continue
		}
		out = append(out, model.Package{
			Name:     c.Name,
			Version:  c.Version,
			Type:     model.TypeComposer,
			PURL:     purl("composer", vendor, name, c.Version),
			Licenses: stringOrList(c.License),
			Dev:      dev || devNames[c.Name],
		})
	}
	return out
}

// stringOrList decodes a JSON string or array of strings.
func stringOrList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return nonEmpty(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return nonEmpty(list...)
	}
	return nil
}
