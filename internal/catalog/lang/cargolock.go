package lang

import (
	"context"
	"fmt"

	"github.com/BurntSushi/toml"
	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// CargoLock lists the crates pinned in a Cargo.lock.
func CargoLock() catalog.Cataloger {
	return &cataloger{
		name: "cargo-lock", version: 1,
		wants: manifestWants(func(p string) bool { return base(p) == "Cargo.lock" }),
		parse: parseCargoLock,
	}
}

func parseCargoLock(_ context.Context, f catalog.File) ([]model.Package, error) {
	if err := checkSize(f); err != nil {
		return nil, err
	}
	var doc struct {
		Package []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
			Source  string `toml:"source"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(f.Data), &doc); err != nil {
		return nil, fmt.Errorf("decode TOML: %w", err)
	}
	pkgs := make([]model.Package, 0, len(doc.Package))
	for _, c := range doc.Package {
		if c.Name == "" || c.Version == "" {
			continue
		}
		p := crate(c.Name, c.Version)
		if c.Source != "" {
			p.Metadata = map[string]string{"source": c.Source}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
