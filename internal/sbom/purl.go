package sbom

import (
	"fmt"
	"strconv"
	"strings"

	packageurl "github.com/package-url/packageurl-go"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// purlToType maps purl types onto ours; other purl types are kept verbatim
// as the package type so they show in inventories but match nothing.
var purlToType = map[string]model.PackageType{
	packageurl.TypeDebian:   model.TypeDeb,
	packageurl.TypeApk:      model.TypeAPK,
	"alpine":                model.TypeAPK,
	packageurl.TypeRPM:      model.TypeRPM,
	packageurl.TypeGolang:   model.TypeGo,
	packageurl.TypeNPM:      model.TypeNPM,
	packageurl.TypePyPi:     model.TypePython,
	packageurl.TypeMaven:    model.TypeJava,
	packageurl.TypeGem:      model.TypeGem,
	packageurl.TypeCargo:    model.TypeCargo,
	packageurl.TypeComposer: model.TypeComposer,
	packageurl.TypeNuget:    model.TypeNuGet,
}

// pkgFromPURL fills name, version, type, arch, epoch and the upstream source
// of a package from its purl; distro is the purl's distro qualifier.
func pkgFromPURL(s string) (p model.Package, distro string, err error) {
	u, err := packageurl.FromString(s)
	if err != nil {
		return p, "", fmt.Errorf("parse purl %q: %w", s, err)
	}
	t, ok := purlToType[u.Type]
	if !ok {
		t = model.PackageType(u.Type)
	}
	p.Type = t
	p.PURL = s
	p.Version = u.Version
	switch t {
	case model.TypeJava:
		p.Name = u.Name
		if u.Namespace != "" {
			p.Name = u.Namespace + ":" + u.Name
		}
	case model.TypeGo, model.TypeNPM, model.TypeComposer:
		p.Name = u.Name
		if u.Namespace != "" {
			p.Name = u.Namespace + "/" + u.Name
		}
	default:
		p.Name = u.Name
	}
	q := u.Qualifiers.Map()
	p.Arch = q["arch"]
	if e, ok := q["epoch"]; ok {
		if n, err := strconv.Atoi(e); err == nil && n >= 0 {
			p.Epoch = &n
		}
	}
	if up := q["upstream"]; up != "" {
		// syft: "name" or "name@version"; rpm source rpms look like
		// "name-version-release.src.rpm".
		name, ver, _ := strings.Cut(up, "@")
		if t == model.TypeRPM && strings.HasSuffix(name, ".src.rpm") && ver == "" {
			name, ver = splitSRPM(name)
		}
		p.SourceName, p.SourceVersion = name, ver
	}
	return p, q["distro"], nil
}

// splitSRPM splits "glibc-2.28-225.el8.src.rpm" into "glibc", "2.28-225.el8".
func splitSRPM(s string) (string, string) {
	s = strings.TrimSuffix(s, ".src.rpm")
	i := strings.LastIndex(s, "-")
	if i <= 0 {
		return s, ""
	}
	j := strings.LastIndex(s[:i], "-")
	if j <= 0 {
		return s, ""
	}
	return s[:j], s[j+1:]
}

// parseDistroQualifier reads "debian-12", "debian-12.5", "alpine-3.18.0",
// "opensuse-leap-15.5" or bare "bookworm"-style values.
func parseDistroQualifier(s string) *model.Distro {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for i := len(s) - 1; i > 0; i-- {
		if s[i] == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			return &model.Distro{ID: strings.ToLower(s[:i]), VersionID: s[i+1:]}
		}
	}
	return &model.Distro{ID: strings.ToLower(s)}
}
