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

// Python lists installed Python distributions from their core metadata:
// *.dist-info/METADATA (wheels), *.egg-info/PKG-INFO and *.egg-info files
// (setuptools eggs).
func Python() catalog.Cataloger {
	return &cataloger{name: "python-package", version: 1, wants: manifestWants(isPythonMetadata), parse: parsePythonMetadata}
}

func isPythonMetadata(p string) bool {
	switch b := base(p); {
	case b == "METADATA":
		return strings.HasSuffix(parentName(p), ".dist-info")
	case b == "PKG-INFO":
		return strings.HasSuffix(parentName(p), ".egg-info")
	default:
		return strings.HasSuffix(b, ".egg-info")
	}
}

// maxPythonHeaderLine bounds one metadata line; descriptions can be long,
// but they come after the headers we read.
const maxPythonHeaderLine = 1 << 20

func parsePythonMetadata(_ context.Context, f catalog.File) ([]model.Package, error) {
	if err := checkSize(f); err != nil {
		return nil, err
	}
	hdr, err := readRFC822Headers(f.Data)
	if err != nil {
		return nil, err
	}
	name, version := first(hdr["name"]), first(hdr["version"])
	if name == "" || version == "" {
		return nil, nil // not core metadata (or a broken one): nothing to report
	}
	p := model.Package{
		Name:     name,
		Version:  version,
		Type:     model.TypePython,
		PURL:     purl("pypi", "", normalizePythonName(name), version),
		Licenses: pythonLicenses(hdr),
	}
	return []model.Package{p}, nil
}

// readRFC822Headers reads the header block (up to the first blank line)
// into lower-cased keys; continuation lines join the previous value.
func readRFC822Headers(data []byte) (map[string][]string, error) {
	hdr := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxPythonHeaderLine)
	var lastKey string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			break // the description body follows
		}
		if line[0] == ' ' || line[0] == '\t' {
			if vs := hdr[lastKey]; lastKey != "" && len(vs) > 0 {
				vs[len(vs)-1] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		lastKey = strings.ToLower(strings.TrimSpace(k))
		hdr[lastKey] = append(hdr[lastKey], strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metadata headers: %w", err)
	}
	return hdr, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// pythonLicenses prefers the SPDX License-Expression (metadata 2.4), then a
// short License field, then the trove classifiers.
func pythonLicenses(hdr map[string][]string) []string {
	if e := first(hdr["license-expression"]); e != "" {
		return []string{e}
	}
	// The License field often holds the whole licence text; only a
	// one-line, short value is an identifier.
	if l := first(hdr["license"]); l != "" && !strings.Contains(l, "\n") && len(l) <= 100 && !strings.EqualFold(l, "UNKNOWN") {
		return []string{l}
	}
	var out []string
	for _, c := range hdr["classifier"] {
		parts := strings.Split(c, "::")
		if len(parts) >= 2 && strings.TrimSpace(parts[0]) == "License" {
			if l := strings.TrimSpace(parts[len(parts)-1]); l != "" && l != "OSI Approved" {
				out = append(out, l)
			}
		}
	}
	return out
}

var pythonNameSeparators = regexp.MustCompile(`[-_.]+`)

// normalizePythonName applies PEP 503: lower case, runs of -_. become "-".
func normalizePythonName(n string) string {
	return pythonNameSeparators.ReplaceAllString(strings.ToLower(n), "-")
}
