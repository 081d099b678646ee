package lang

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"io/fs"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/package-url/packageurl-go"
)

// maxBinarySize bounds the executables the binary catalogers look at.
const maxBinarySize = 1 << 30

// GoBinary finds the modules compiled into Go executables, the main module
// and the Go toolchain (as module "stdlib"), from their embedded build info.
func GoBinary() catalog.Cataloger {
	return &cataloger{name: "go-binary", version: 1, wants: executableWants, parse: parseGoBinary}
}

// executableWants picks regular executables; the format is checked in Parse.
func executableWants(_ string, mode fs.FileMode, size int64) bool {
	return mode&0o111 != 0 && size > 0 && size <= maxBinarySize
}

// isExecutableMagic reports whether data starts like an ELF, PE or Mach-O
// file (thin or fat), the formats Go and Rust toolchains emit.
func isExecutableMagic(data []byte) bool {
	if len(data) < 16 {
		return false
	}
	switch {
	case bytes.HasPrefix(data, []byte("\x7fELF")), bytes.HasPrefix(data, []byte("MZ")):
		return true
	case bytes.HasPrefix(data, []byte("\xfe\xed\xfa")), bytes.HasPrefix(data[1:], []byte("\xfa\xed\xfe")):
		return true
	case bytes.HasPrefix(data, []byte("\xca\xfe\xba\xbe")), bytes.HasPrefix(data, []byte("\xca\xfe\xba\xbf")):
		return true
	}
	return false
}

func parseGoBinary(_ context.Context, f catalog.File) ([]model.Package, error) {
	if !isExecutableMagic(f.Data) {
		return nil, nil
	}
	r := bytes.NewReader(f.Data)
	if bytes.HasPrefix(f.Data, []byte("\x7fELF")) {
		// Cheap rejection of the common case, a non-Go ELF: Go's linker
		// always writes a .go.buildinfo section, while buildinfo.Read would
		// fall back to scanning the whole data segment for its magic.
		ef, err := elf.NewFile(r)
		if err != nil {
			return nil, nil // not a readable ELF: not ours to judge
		}
		hasSection := ef.Section(".go.buildinfo") != nil
		noSections := len(ef.Sections) <= 1
		if !hasSection && !noSections {
			return nil, nil
		}
	}
	bi, err := buildinfo.Read(r)
	if err != nil {
		// Not a Go executable, or one too damaged to read: either way there
		// is nothing to report and nothing the user can act on.
		return nil, nil
	}
	return goBuildInfoPackages(bi), nil
}

// goBuildInfoPackages lists the dependency modules, the main module and the
// toolchain of one build.
func goBuildInfoPackages(bi *debug.BuildInfo) []model.Package {
	pkgs := make([]model.Package, 0, len(bi.Deps)+2)
	meta := func(extra ...string) map[string]string {
		m := map[string]string{"go_version": bi.GoVersion}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	for _, d := range bi.Deps {
		if d == nil {
			continue
		}
		mod, m := d, meta()
		if d.Replace != nil {
			mod = d.Replace
			m["replaces"] = d.Path
			if d.Version != "" {
				m["replaces"] = d.Path + "@" + d.Version
			}
		}
		if mod.Path == "" {
			continue
		}
		pkgs = append(pkgs, goModule(mod.Path, mod.Version, m))
	}
	if bi.Main.Path != "" {
		pkgs = append(pkgs, goModule(bi.Main.Path, bi.Main.Version, meta("main", "true")))
	}
	if v := goStdlibVersion(bi.GoVersion); v != "" {
		pkgs = append(pkgs, goModule("stdlib", v, meta()))
	}
	return pkgs
}

func goModule(path, version string, meta map[string]string) model.Package {
	ns, name := "", path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		ns, name = path[:i], path[i+1:]
	}
	return model.Package{
		Name:     path,
		Version:  version,
		Type:     model.TypeGo,
		PURL:     packageurl.NewPackageURL(packageurl.TypeGolang, ns, name, version, nil, "").ToString(),
		Metadata: meta,
	}
}

var goReleaseRE = regexp.MustCompile(`^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?$`)

// goStdlibVersion turns a toolchain version into the semver the Go
// vulnerability database uses: "go1.22.4 X:boringcrypto" → "1.22.4",
// "go1.20" → "1.20.0", "go1.21rc2" → "1.21.0-rc.2". Development builds
// ("devel go1.23-abcdef") have no comparable version and give "".
func goStdlibVersion(v string) string {
	v, _, _ = strings.Cut(strings.TrimSpace(v), " ")
	// Vendor builds append their own tags: "-fips", "+boring".
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	m := goReleaseRE.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	patch := m[3]
	if patch == "" {
		patch = "0"
	}
	out := m[1] + "." + m[2] + "." + patch
	if m[4] != "" {
		out += "-" + m[4] + "." + m[5]
	}
	return out
}
