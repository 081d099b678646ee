package lang

import (
	"bytes"
	"compress/zlib"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// maxAuditableJSON bounds the decompressed cargo-auditable dependency list;
// cargo-auditable itself caps it far lower, so more is a zip bomb.
const maxAuditableJSON = 8 << 20

// CargoAuditable finds the crates compiled into Rust executables built with
// cargo-auditable, from their .dep-v0 ELF section.
func CargoAuditable() catalog.Cataloger {
	return &cataloger{name: "cargo-auditable", version: 1, wants: executableWants, parse: parseCargoAuditable}
}

type auditableCrate struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Source  string `json:"source"`
	Kind    string `json:"kind"`
	Root    bool   `json:"root"`
}

func parseCargoAuditable(_ context.Context, f catalog.File) ([]model.Package, error) {
	if !bytes.HasPrefix(f.Data, []byte("\x7fELF")) {
		return nil, nil
	}
	ef, err := elf.NewFile(bytes.NewReader(f.Data))
	if err != nil {
		return nil, nil
	}
	sec := ef.Section(".dep-v0")
	if sec == nil {
		return nil, nil
	}
	if sec.Type == elf.SHT_NOBITS || sec.Size > uint64(len(f.Data)) {
		return nil, fmt.Errorf("section .dep-v0 has bad size %d", sec.Size)
	}
	zr, err := zlib.NewReader(sec.Open())
	if err != nil {
		return nil, fmt.Errorf("decompress .dep-v0: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxAuditableJSON+1))
	if err != nil {
		return nil, fmt.Errorf("decompress .dep-v0: %w", err)
	}
	if len(raw) > maxAuditableJSON {
		return nil, fmt.Errorf("decompressed .dep-v0 exceeds %d bytes", maxAuditableJSON)
	}
	var doc struct {
		Packages []auditableCrate `json:"packages"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode .dep-v0 JSON: %w", err)
	}
	pkgs := make([]model.Package, 0, len(doc.Packages))
	for _, c := range doc.Packages {
		if c.Name == "" || c.Version == "" {
			continue
		}
		p := crate(c.Name, c.Version)
		p.Metadata = map[string]string{}
		if c.Source != "" {
			p.Metadata["source"] = c.Source
		}
		if c.Kind != "" {
			p.Metadata["kind"] = c.Kind
		}
		if c.Root {
			p.Metadata["root"] = "true"
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// crate is a Rust crate as every Cargo cataloger reports it.
func crate(name, version string) model.Package {
	return model.Package{Name: name, Version: version, Type: model.TypeCargo, PURL: purl("cargo", "", name, version)}
}
