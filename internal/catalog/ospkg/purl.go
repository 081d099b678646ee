package ospkg

import (
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// defaultNamespace is the purl namespace used when the distribution is
// unknown: the distribution most images of that package type are. rpm has
// no such majority; "redhat" names the family the format comes from. Such
// purls carry no distro= qualifier, which tells a consumer the namespace is
// a guess.
var defaultNamespace = map[model.PackageType]string{
	model.TypeDeb: "debian",
	model.TypeAPK: "alpine",
	model.TypeRPM: "redhat",
}

// ApplyDistro sets the package URL of every OS package (deb, apk, rpm) in
// pkgs from its fields and the image's distribution d, which may be nil.
// OS catalogers see one file and cannot know the distribution, so the
// pipeline calls this once detection is done. Other packages are untouched.
//
//	pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc
func ApplyDistro(pkgs []model.Package, d *model.Distro) {
	for i := range pkgs {
		if purl := osPURL(&pkgs[i], d); purl != "" {
			pkgs[i].PURL = purl
		}
	}
}

func osPURL(p *model.Package, d *model.Distro) string {
	ns, ok := defaultNamespace[p.Type]
	if !ok || p.Name == "" {
		return ""
	}
	var q packageurl.Qualifiers
	if d != nil && d.ID != "" {
		ns = purlNamespace(d.ID)
		q = append(q, packageurl.Qualifier{Key: "distro", Value: distroQualifier(d)})
	}
	if p.Arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
	}
	version := p.Version
	if p.Type == model.TypeRPM && p.Epoch != nil {
		// rpm purls carry the epoch as a qualifier, not in the version.
		q = append(q, packageurl.Qualifier{Key: "epoch", Value: strconv.Itoa(*p.Epoch)})
	}
	if up := upstream(p); up != "" {
		q = append(q, packageurl.Qualifier{Key: "upstream", Value: up})
	}
	return packageurl.NewPackageURL(string(p.Type), ns, p.Name, version, q, "").ToString()
}

// purlNamespace maps an os-release ID to the namespace purl users expect:
// the ID itself, lower-cased, except that the openSUSE flavours share one.
func purlNamespace(id string) string {
	id = strings.ToLower(id)
	if strings.HasPrefix(id, "opensuse") {
		return "opensuse"
	}
	return id
}

// distroQualifier is "<id>-<version_id>", or "<id>-<codename>" for releases
// without a version (Debian sid), or "<id>" for rolling ones (Wolfi).
func distroQualifier(d *model.Distro) string {
	id := strings.ToLower(d.ID)
	switch {
	case d.VersionID != "":
		return id + "-" + d.VersionID
	case d.Codename != "":
		return id + "-" + d.Codename
	}
	return id
}

// upstream names the source package: its name alone when it has the
// binary's version, "name@version" when the versions differ, nothing when
// the source is the binary itself.
func upstream(p *model.Package) string {
	if p.SourceName == "" {
		return ""
	}
	sameVersion := p.SourceVersion == "" || p.SourceVersion == p.Version
	switch {
	case p.SourceName == p.Name && sameVersion:
		return ""
	case sameVersion:
		return p.SourceName
	}
	return p.SourceName + "@" + p.SourceVersion
}
