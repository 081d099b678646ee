package distro

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Release files are a few hundred bytes; anything much larger is not one.
const maxFileSize = 64 << 10

const (
	osReleaseEtc    = "etc/os-release"
	osReleaseUsrLib = "usr/lib/os-release"
	alpineRelease   = "etc/alpine-release"
	debianVersion   = "etc/debian_version"
	redhatRelease   = "etc/redhat-release"
	centosRelease   = "etc/centos-release"
	systemRelease   = "etc/system-release"
	lsbRelease      = "etc/lsb-release"
)

// wanted lists every file Detect reads.
var wanted = map[string]bool{
	osReleaseEtc: true, osReleaseUsrLib: true, alpineRelease: true, debianVersion: true,
	redhatRelease: true, centosRelease: true, systemRelease: true, lsbRelease: true,
}

// Wants reports whether path (relative to the root, no leading slash) is a
// file Detect reads.
func Wants(path string) bool { return wanted[path] }

// Detect identifies the distribution from the final content of the wanted
// files (keys as Wants receives them). os-release wins; the distributions'
// own release files are fallbacks for images without one. It returns nil
// when nothing is known, and an error only when a wanted file is unusable
// (too large) and nothing could be detected without it.
func Detect(files map[string][]byte) (*model.Distro, error) {
	var skipped error
	get := func(name string) (string, bool) {
		b, ok := files[name]
		if !ok {
			return "", false
		}
		if len(b) > maxFileSize {
			if skipped == nil {
				skipped = fmt.Errorf("detect distro: %s is %d bytes, over the %d-byte limit", name, len(b), maxFileSize)
			}
			return "", false
		}
		return string(b), true
	}
	if d := fromOSRelease(get); d != nil {
		return d, nil
	}
	for _, f := range []func(func(string) (string, bool)) *model.Distro{fromRedHatRelease, fromAlpine, fromLSB, fromDebianVersion} {
		if d := f(get); d != nil {
			return d, nil
		}
	}
	return nil, skipped
}

func fromOSRelease(get func(string) (string, bool)) *model.Distro {
	text, ok := get(osReleaseEtc)
	if !ok || strings.TrimSpace(text) == "" {
		if text, ok = get(osReleaseUsrLib); !ok {
			return nil
		}
	}
	kv := ParseOSRelease([]byte(text))
	id := strings.ToLower(kv["ID"])
	if id == "" {
		return nil
	}
	d := &model.Distro{
		ID:         id,
		VersionID:  kv["VERSION_ID"],
		Codename:   kv["VERSION_CODENAME"],
		PrettyName: kv["PRETTY_NAME"],
		IDLike:     strings.Fields(strings.ToLower(kv["ID_LIKE"])),
	}
	if d.Codename == "" {
		d.Codename = kv["UBUNTU_CODENAME"]
	}
	if d.Codename == "" {
		d.Codename = codenameFromVersion(kv["VERSION"])
	}
	if d.PrettyName == "" {
		d.PrettyName = strings.TrimSpace(kv["NAME"] + " " + kv["VERSION"])
	}
	if d.VersionID == "" {
		// Debian testing and sid have no VERSION_ID; debian_version says
		// "trixie/sid". Alpine edge likewise keeps it in alpine-release.
		switch id {
		case "debian":
			if v, ok := get(debianVersion); ok {
				d.VersionID = firstLine(v)
			}
		case "alpine":
			if v, ok := get(alpineRelease); ok {
				d.VersionID = firstLine(v)
			}
		}
	}
	if len(d.IDLike) == 0 {
		d.IDLike = nil
	}
	return d
}

// codenameFromVersion takes the codename out of VERSION="12 (bookworm)" or
// "22.04.3 LTS (Jammy Jellyfish)": the first word in parentheses.
func codenameFromVersion(v string) string {
	open := strings.IndexByte(v, '(')
	if open < 0 {
		return ""
	}
	inner := v[open+1:]
	if end := strings.IndexByte(inner, ')'); end >= 0 {
		inner = inner[:end]
	}
	f := strings.Fields(inner)
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// "CentOS Linux release 7.9.2009 (Core)", "Amazon Linux release 2 (Karoo)",
// "Red Hat Enterprise Linux Server release 7.9 (Maipo)".
var releaseLine = regexp.MustCompile(`^(.+?)\s+release\s+([0-9][0-9A-Za-z.]*)\s*(?:\(([^)]*)\))?`)

// releaseIDs maps the product names of release files to os-release IDs; the
// first matching prefix wins, so longer names come first.
var releaseIDs = []struct{ prefix, id string }{
	{"centos stream", "centos"},
	{"centos", "centos"},
	{"red hat enterprise linux", "rhel"},
	{"rocky linux", "rocky"},
	{"almalinux", "almalinux"},
	{"fedora", "fedora"},
	{"amazon linux", "amzn"},
	{"oracle linux", "ol"},
	{"cbl-mariner", "mariner"},
}

func fromRedHatRelease(get func(string) (string, bool)) *model.Distro {
	for _, name := range []string{centosRelease, redhatRelease, systemRelease} {
		text, ok := get(name)
		if !ok {
			continue
		}
		line := firstLine(text)
		m := releaseLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		product := strings.ToLower(m[1])
		id := ""
		for _, r := range releaseIDs {
			if strings.HasPrefix(product, r.prefix) {
				id = r.id
				break
			}
		}
		if id == "" {
			continue
		}
		version := m[2]
		switch id {
		case "centos", "fedora":
			// os-release says "7", not "7.9.2009".
			version, _, _ = strings.Cut(version, ".")
		case "rhel", "rocky", "almalinux", "ol":
			version = majorMinor(version)
		}
		return &model.Distro{ID: id, VersionID: version, Codename: codenameFromVersion("(" + m[3] + ")"), PrettyName: line}
	}
	return nil
}

func fromAlpine(get func(string) (string, bool)) *model.Distro {
	text, ok := get(alpineRelease)
	if !ok || firstLine(text) == "" {
		return nil
	}
	v := firstLine(text)
	return &model.Distro{ID: "alpine", VersionID: v, PrettyName: "Alpine Linux v" + majorMinor(v)}
}

func fromLSB(get func(string) (string, bool)) *model.Distro {
	text, ok := get(lsbRelease)
	if !ok {
		return nil
	}
	kv := ParseOSRelease([]byte(text))
	id := strings.ToLower(kv["DISTRIB_ID"])
	if id == "" {
		return nil
	}
	return &model.Distro{ID: id, VersionID: kv["DISTRIB_RELEASE"], Codename: kv["DISTRIB_CODENAME"], PrettyName: kv["DISTRIB_DESCRIPTION"]}
}

func fromDebianVersion(get func(string) (string, bool)) *model.Distro {
	text, ok := get(debianVersion)
	if !ok || firstLine(text) == "" {
		return nil
	}
	v := firstLine(text)
	d := &model.Distro{ID: "debian", VersionID: v, PrettyName: "Debian GNU/Linux " + v}
	if v[0] >= '0' && v[0] <= '9' {
		// debian_version says "12.5"; os-release's VERSION_ID is "12".
		d.VersionID, _, _ = strings.Cut(v, ".")
	}
	return d
}

// majorMinor keeps the first two dot-separated parts of v.
func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}

// Paths lists every file Detect reads (relative to the root, sorted).
func Paths() []string {
	out := make([]string, 0, len(wanted))
	for p := range wanted {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
