package match

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/package-url/packageurl-go"
)

// Ecosystem returns the advisory ecosystem, package name and version a
// package is looked up under, or ok=false when it cannot be matched
// (unknown distro, unknown version).
func Ecosystem(d *model.Distro, p model.Package) (eco, name, version string, ok bool) {
	keys := lookups(d, p)
	if len(keys) == 0 {
		return "", "", "", false
	}
	return keys[0].eco, keys[0].name, keys[0].version, true
}

type lookupKey struct{ eco, name, version string }

// lookups returns every (ecosystem, name) a package's advisories may be
// filed under, the canonical one first.
func lookups(d *model.Distro, p model.Package) []lookupKey {
	if unknownVersion(p.Version) {
		return nil
	}
	one := func(eco, name string) []lookupKey {
		if name == "" {
			return nil
		}
		return []lookupKey{{eco, name, p.Version}}
	}
	switch p.Type {
	case model.TypeDeb:
		if d == nil {
			return nil
		}
		name, ver := p.Name, p.Version
		if p.SourceName != "" {
			name = p.SourceName
		}
		if p.SourceVersion != "" {
			ver = p.SourceVersion
		}
		switch strings.ToLower(d.ID) {
		case "debian":
			major, _, _ := strings.Cut(d.VersionID, ".")
			if !isDigits(major) {
				return nil
			}
			return []lookupKey{{advisory.EcoDebian + ":" + major, name, ver}}
		case "ubuntu":
			if d.VersionID == "" {
				return nil
			}
			eco := advisory.EcoUbuntu + ":" + d.VersionID
			// OSV writes LTS releases as "Ubuntu:22.04:LTS".
			return []lookupKey{{eco, name, ver}, {eco + ":LTS", name, ver}}
		}
		return nil
	case model.TypeAPK:
		if d == nil {
			return nil
		}
		name := p.Name
		if p.SourceName != "" {
			name = p.SourceName // origin: secdb is keyed by it
		}
		// Wolfi and Chainguard are rolling: their OSV ecosystems carry no release.
		switch strings.ToLower(d.ID) {
		case "wolfi":
			return []lookupKey{{"Wolfi", name, p.Version}}
		case "chainguard":
			return []lookupKey{{"Chainguard", name, p.Version}}
		case "alpine":
		default:
			return nil
		}
		m := alpineRe.FindStringSubmatch(d.VersionID)
		if m == nil {
			return nil
		}
		return []lookupKey{{advisory.EcoAlpine + ":v" + m[1], name, p.Version}}
	case model.TypeRPM:
		ecos := rpmEcosystems(d)
		if len(ecos) == 0 {
			return nil
		}
		name := srpmName(p.SourceName)
		if name == "" {
			name = p.Name
		}
		ver := p.Version
		if p.Epoch != nil && *p.Epoch > 0 && !strings.Contains(ver, ":") {
			ver = strconv.Itoa(*p.Epoch) + ":" + ver
		}
		stream := moduleStream(p.Metadata["modularity_label"])
		var out []lookupKey
		for _, eco := range ecos {
			if stream != "" {
				// A package of a module stream is filed under the stream
				// ("nodejs:18::nodejs"), so the fixes of another stream or
				// of the non-modular package never apply to it.
				out = append(out, lookupKey{eco, stream + "::" + name, ver})
				if strings.HasPrefix(eco, advisory.EcoRedHat+":") {
					continue // Red Hat files modular packages only under their stream
				}
			}
			out = append(out, lookupKey{eco, name, ver})
			// Amazon's and Oracle's updateinfo name binary packages.
			if p.Name != name && (strings.HasPrefix(eco, "Amazon Linux:") || strings.HasPrefix(eco, "Oracle Linux:")) {
				out = append(out, lookupKey{eco, p.Name, ver})
			}
		}
		return out
	case model.TypeGo:
		return one(advisory.EcoGo, p.Name)
	case model.TypeBinary:
		if p.Name == "stdlib" || p.Name == "go" {
			return one(advisory.EcoGo, "stdlib")
		}
		return nil
	case model.TypeNPM:
		return one(advisory.EcoNPM, p.Name)
	case model.TypePython:
		if p.Name == "" {
			return nil
		}
		// Lookups try the PEP 503 name; loaders store names as written.
		var out []lookupKey
		seen := map[string]bool{}
		for _, n := range []string{pep503(p.Name), p.Name, strings.ToLower(p.Name)} {
			if !seen[n] {
				seen[n] = true
				out = append(out, lookupKey{advisory.EcoPyPI, n, p.Version})
			}
		}
		return out
	case model.TypeJava:
		return one(advisory.EcoMaven, mavenName(p))
	case model.TypeGem:
		return one(advisory.EcoRubyGems, p.Name)
	case model.TypeCargo:
		return one(advisory.EcoCrates, p.Name)
	case model.TypeComposer:
		return one(advisory.EcoPackagist, p.Name)
	case model.TypeNuGet:
		return one(advisory.EcoNuGet, p.Name)
	}
	return nil
}

var (
	alpineRe    = regexp.MustCompile(`^(\d+\.\d+)`)
	pep503Re    = regexp.MustCompile(`[-_.]+`)
	srpmSuffix  = regexp.MustCompile(`-[^-]+-[^-]+\.src\.rpm$`)
	rpmMajorRe  = regexp.MustCompile(`^(\d+)`)
	unknownVers = map[string]bool{"": true, "(devel)": true, "unknown": true, "UNKNOWN": true, "*": true}
)

func unknownVersion(v string) bool { return unknownVers[strings.TrimSpace(v)] }

func pep503(n string) string { return strings.ToLower(pep503Re.ReplaceAllString(n, "-")) }

// srpmName takes "openssl-3.0.7-27.el9.src.rpm" to "openssl"; a bare name
// is returned as is.
func srpmName(s string) string {
	if strings.HasSuffix(s, ".src.rpm") {
		return srpmSuffix.ReplaceAllString(s, "")
	}
	return s
}

// mavenName is "group:artifact", from the name when it has one, the
// metadata, or the purl.
func mavenName(p model.Package) string {
	if strings.Contains(p.Name, ":") {
		return p.Name
	}
	for _, k := range []string{"groupId", "group_id", "group", "GroupID"} {
		if g := p.Metadata[k]; g != "" {
			return g + ":" + p.Name
		}
	}
	if p.PURL != "" {
		if u, err := packageurl.FromString(p.PURL); err == nil && u.Type == packageurl.TypeMaven && u.Namespace != "" {
			return u.Namespace + ":" + u.Name
		}
	}
	return ""
}

// rpmEcosystems names the advisory ecosystems of an RPM distro release,
// the canonical one first: OSV's names where the vendor exports OSV
// ("AlmaLinux:9", "SUSE:Linux Enterprise Server 15 SP5", "Azure Linux:2"
// for CBL-Mariner 2.0), and the release major for the loaders of native
// formats ("Red Hat:9" from CSAF VEX).
func rpmEcosystems(d *model.Distro) []string {
	if d == nil {
		return nil
	}
	major := ""
	if m := rpmMajorRe.FindStringSubmatch(d.VersionID); m != nil {
		major = m[1]
	}
	switch strings.ToLower(d.ID) {
	case "rhel", "redhat", "centos":
		return []string{advisory.EcoRedHat + ":" + major}
	case "rocky":
		return []string{"Rocky Linux:" + major}
	case "almalinux":
		return []string{"AlmaLinux:" + major}
	case "opensuse-leap", "opensuse":
		return []string{"openSUSE:Leap " + d.VersionID}
	case "opensuse-tumbleweed":
		return []string{"openSUSE:Tumbleweed"}
	case "sles", "sle", "suse", "sle-micro":
		// SLE base containers (BCI) carry packages of the Server product
		// and of its Basesystem module; SUSE files them under either.
		sp := suseRelease(d.VersionID)
		return []string{"SUSE:Linux Enterprise Server " + sp, "SUSE:Linux Enterprise Module for Basesystem " + sp}
	case "mariner", "azurelinux":
		// OSV files CBL-Mariner under Azure Linux by its major release.
		return []string{"Azure Linux:" + major}
	case "amzn":
		// Amazon Linux AMI (2018.03) is "Amazon Linux 1" in ALAS ids.
		if strings.Contains(d.VersionID, ".") {
			return []string{"Amazon Linux:1"}
		}
		return []string{"Amazon Linux:" + d.VersionID}
	case "ol":
		return []string{"Oracle Linux:" + major}
	case "photon":
		return []string{"Photon OS:" + d.VersionID}
	case "fedora":
		return []string{"Fedora:" + d.VersionID}
	}
	return nil
}

// suseRelease writes os-release's "15.5" as SUSE's "15 SP5" ("15.0" and
// "15" stay "15").
func suseRelease(v string) string {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || minor == "" || minor == "0" {
		return major
	}
	return major + " SP" + minor
}

// moduleStream takes rpm's MODULARITYLABEL "nodejs:18:8090020231019:a75119d5"
// to "nodejs:18"; empty for non-modular packages.
func moduleStream(label string) string {
	parts := strings.SplitN(label, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return parts[0] + ":" + parts[1]
}

// isDistroEcosystem is true for OS ecosystems, where newer distro data (a
// fixed line) overrides stale "unfixed" records.
func isDistroEcosystem(eco string) bool {
	base, _, _ := strings.Cut(eco, ":")
	switch base {
	case advisory.EcoGo, advisory.EcoNPM, advisory.EcoPyPI, advisory.EcoMaven, advisory.EcoCrates,
		advisory.EcoRubyGems, advisory.EcoPackagist, advisory.EcoNuGet, advisory.EcoKube:
		return false
	}
	return true
}

// versionScheme names the version semantics of a package type, for
// comparing versions when no distro is at hand.
func versionScheme(t model.PackageType) string {
	switch t {
	case model.TypeDeb:
		return advisory.EcoDebian
	case model.TypeAPK:
		return advisory.EcoAlpine
	case model.TypeRPM:
		return "rpm"
	case model.TypeGo, model.TypeBinary:
		return advisory.EcoGo
	case model.TypeNPM:
		return advisory.EcoNPM
	case model.TypePython:
		return advisory.EcoPyPI
	case model.TypeJava:
		return advisory.EcoMaven
	case model.TypeGem:
		return advisory.EcoRubyGems
	case model.TypeCargo:
		return advisory.EcoCrates
	case model.TypeComposer:
		return advisory.EcoPackagist
	case model.TypeNuGet:
		return advisory.EcoNuGet
	}
	return "semver"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
