package lang

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Gem lists Ruby gems from installed specifications
// (…/specifications/*.gemspec, as RubyGems writes them) and from
// Gemfile.lock. Gemspecs are Ruby: they are read with patterns, never run.
func Gem() catalog.Cataloger {
	return &cataloger{
		name: "ruby-gem", version: 1,
		wants: manifestWants(func(p string) bool {
			b := base(p)
			if b == "Gemfile.lock" || b == "gems.locked" {
				return true
			}
			// Default gems (bundled with Ruby, e.g. json) live in specifications/default.
			return strings.HasSuffix(b, ".gemspec") &&
				(parentName(p) == "specifications" || strings.HasSuffix(p, "/specifications/default/"+b))
		}),
		parse: parseGem,
	}
}

func parseGem(_ context.Context, f catalog.File) ([]model.Package, error) {
	if err := checkSize(f); err != nil {
		return nil, err
	}
	if strings.HasSuffix(f.Path, ".gemspec") {
		return parseGemspec(f.Data), nil
	}
	return parseGemfileLock(f.Data)
}

var (
	gemNameRE    = regexp.MustCompile(`(?m)^\s*\w+\.name\s*=\s*["']([^"'\n]+)["']`)
	gemVersionRE = regexp.MustCompile(`(?m)^\s*\w+\.version\s*=\s*(?:Gem::Version\.new\(\s*)?["']([^"'\n]+)["']`)
	gemLicsRE    = regexp.MustCompile(`(?m)^\s*\w+\.licenses\s*=\s*\[([^\]\n]*)\]`)
	gemLicRE     = regexp.MustCompile(`(?m)^\s*\w+\.license\s*=\s*["']([^"'\n]+)["']`)
	gemQuotedRE  = regexp.MustCompile(`["']([^"'\n]+)["']`)
)

func parseGemspec(data []byte) []model.Package {
	nm, vm := gemNameRE.FindSubmatch(data), gemVersionRE.FindSubmatch(data)
	if nm == nil || vm == nil {
		return nil // not a gemspec we can read without running Ruby
	}
	p := gemPackage(string(nm[1]), string(vm[1]))
	if m := gemLicsRE.FindSubmatch(data); m != nil {
		for _, q := range gemQuotedRE.FindAllSubmatch(m[1], -1) {
			p.Licenses = append(p.Licenses, nonEmpty(string(q[1]))...)
		}
	} else if m := gemLicRE.FindSubmatch(data); m != nil {
		p.Licenses = nonEmpty(string(m[1]))
	}
	return []model.Package{p}
}

func gemPackage(name, version string) model.Package {
	return model.Package{Name: name, Version: version, Type: model.TypeGem, PURL: purl("gem", "", name, version)}
}

// gemSpecLineRE matches a locked gem: exactly four spaces, "name (version)".
var gemSpecLineRE = regexp.MustCompile(`^    ([^\s(][^\s]*) \(([^)\s]+)\)$`)

// parseGemfileLock reads the specs of the GEM, GIT and PATH sections;
// dependency lines (six spaces) repeat names with constraints only.
func parseGemfileLock(data []byte) ([]model.Package, error) {
	var (
		pkgs    []model.Package
		section string
		seen    = map[string]bool{}
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line != "" && line[0] != ' ' {
			section = line
			continue
		}
		if section != "GEM" && section != "GIT" && section != "PATH" {
			continue
		}
		m := gemSpecLineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		version, platform, _ := strings.Cut(m[2], "-")
		if seen[m[1]+"@"+version] {
			continue // one gem locked for several platforms
		}
		seen[m[1]+"@"+version] = true
		p := gemPackage(m[1], version)
		p.Metadata = map[string]string{"source": strings.ToLower(section)}
		if platform != "" {
			p.Metadata["platform"] = platform
		}
		pkgs = append(pkgs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read Gemfile.lock: %w", err)
	}
	return pkgs, nil
}
