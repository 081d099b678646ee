package version

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	gem "github.com/aquasecurity/go-gem-version"
	npm "github.com/aquasecurity/go-npm-version/pkg"
	pep440 "github.com/aquasecurity/go-pep440-version"
	apk "github.com/knqyf263/go-apk-version"
	deb "github.com/knqyf263/go-deb-version"
	rpm "github.com/knqyf263/go-rpm-version"
	mvn "github.com/masahiro331/go-mvn-version"
	gosemver "golang.org/x/mod/semver"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// maxLen bounds the inputs: no real version or constraint comes near it, and
// some of the libraries are quadratic or recursive on long input.
const maxLen = 256

// scheme is a version semantics.
type scheme int

const (
	schemeSemver scheme = iota // Masterminds semver, lenient, with a generic fallback
	schemeDeb
	schemeAPK
	schemeRPM
	schemeGo
	schemeNPM
	schemePEP440
	schemeMaven
	schemeGem
	schemeNuGet
	schemeComposer
)

// rpmEcosystems are the OSV ecosystem prefixes (lower-cased) of RPM distros.
var rpmEcosystems = []string{
	"red hat", "redhat", "rhel", "rocky linux", "almalinux", "opensuse", "suse",
	"mariner", "azure linux", "amazon linux", "oracle linux", "oraclelinux",
	"fedora", "centos", "photon os", "openeuler", "openmandriva",
}

// schemeOf maps an advisory ecosystem ("Debian:12") to its semantics, by
// the part before the first ":".
func schemeOf(ecosystem string) scheme {
	base, _, _ := strings.Cut(ecosystem, ":")
	base = strings.ToLower(strings.TrimSpace(base))
	switch base {
	case "debian", "ubuntu", "deb":
		return schemeDeb
	case "alpine", "apk", "wolfi", "chainguard":
		return schemeAPK
	case "go", "golang", "stdlib", "go-module":
		return schemeGo
	case "npm":
		return schemeNPM
	case "pypi", "python":
		return schemePEP440
	case "maven", "java-archive":
		return schemeMaven
	case "rubygems", "gem":
		return schemeGem
	case "nuget", "dotnet":
		return schemeNuGet
	case "packagist", "composer", "php-composer":
		return schemeComposer
	case "rpm":
		return schemeRPM
	}
	for _, p := range rpmEcosystems {
		if strings.HasPrefix(base, p) {
			return schemeRPM
		}
	}
	return schemeSemver
}

// ErrInvalid is wrapped by the errors of Compare and Satisfies for versions
// the ecosystem cannot parse.
var ErrInvalid = errors.New("invalid version")

func invalid(ecosystem, v string) error {
	return fmt.Errorf("%w %q for %s", ErrInvalid, clip(v), ecosystem)
}

func clip(s string) string { return text.Truncate(s, 64+len(text.Ellipsis)) }

// Compare returns -1, 0 or +1 as a is older than, equal to or newer than b
// in the ecosystem's semantics.
func Compare(ecosystem, a, b string) (cmp int, err error) {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" || len(a) > maxLen {
		return 0, invalid(ecosystem, a)
	}
	if b == "" || len(b) > maxLen {
		return 0, invalid(ecosystem, b)
	}
	// Third-party parsers are not all hardened against hostile input; a
	// panic in one must not take the scan down.
	defer func() {
		if r := recover(); r != nil {
			cmp, err = 0, fmt.Errorf("compare %q with %q for %s: %w (parser panic: %v)", clip(a), clip(b), ecosystem, ErrInvalid, r)
		}
	}()
	pa, err := parse(ecosystem, a)
	if err != nil {
		return 0, err
	}
	pb, err := parse(ecosystem, b)
	if err != nil {
		return 0, err
	}
	return sign(pa.compare(pb)), nil
}

// Valid reports whether v parses in the ecosystem.
func Valid(ecosystem, v string) (ok bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxLen {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_, err := parse(ecosystem, v)
	return err == nil
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// parsed is one version parsed in one scheme; compare is only called with
// another parsed value of the same scheme.
type parsed interface {
	compare(other parsed) int
}

func parse(ecosystem, v string) (parsed, error) {
	switch schemeOf(ecosystem) {
	case schemeDeb:
		dv, err := deb.NewVersion(v)
		if err != nil {
			return nil, invalid(ecosystem, v)
		}
		return debV{dv}, nil
	case schemeAPK:
		av, err := apk.NewVersion(v)
		if err != nil {
			return nil, invalid(ecosystem, v)
		}
		return apkV{av}, nil
	case schemeRPM:
		if !validRPM(v) {
			return nil, invalid(ecosystem, v)
		}
		return rpmV{rpm.NewVersion(v)}, nil
	case schemeGo:
		gv, ok := goSemver(v)
		if !ok {
			return nil, invalid(ecosystem, v)
		}
		return goV(gv), nil
	case schemeNPM:
		nv, err := npm.NewVersion(v)
		if err != nil {
			return nil, invalid(ecosystem, v)
		}
		return npmV{nv}, nil
	case schemePEP440:
		pv, err := pep440.Parse(v)
		if err != nil {
			return nil, invalid(ecosystem, v)
		}
		return pepV{pv}, nil
	case schemeMaven:
		mv, err := mvn.NewVersion(v)
		if err != nil {
			return nil, invalid(ecosystem, v)
		}
		return mvnV{mv}, nil
	case schemeGem:
		gv, err := gem.NewVersion(v)
		if err != nil {
			return nil, invalid(ecosystem, v)
		}
		return gemV{gv}, nil
	case schemeNuGet:
		return parseNuGet(ecosystem, v)
	case schemeComposer:
		return parseSemverLenient(ecosystem, composerNormalize(v))
	}
	return parseSemverLenient(ecosystem, v)
}

type debV struct{ v deb.Version }

func (x debV) compare(o parsed) int { return x.v.Compare(o.(debV).v) }

type apkV struct{ v apk.Version }

func (x apkV) compare(o parsed) int { return x.v.Compare(o.(apkV).v) }

type rpmV struct{ v rpm.Version }

func (x rpmV) compare(o parsed) int { return x.v.Compare(o.(rpmV).v) }

type goV string

func (x goV) compare(o parsed) int { return gosemver.Compare(string(x), string(o.(goV))) }

type npmV struct{ v npm.Version }

func (x npmV) compare(o parsed) int { return x.v.Compare(o.(npmV).v) }

type pepV struct{ v pep440.Version }

func (x pepV) compare(o parsed) int { return x.v.Compare(o.(pepV).v) }

type mvnV struct{ v mvn.Version }

func (x mvnV) compare(o parsed) int { return x.v.Compare(o.(mvnV).v) }

type gemV struct{ v gem.Version }

func (x gemV) compare(o parsed) int { return x.v.Compare(o.(gemV).v) }

// validRPM rejects what rpm itself could not have produced: the library
// accepts any string, so a garbage version would silently compare.
func validRPM(v string) bool {
	if strings.ContainsAny(v, " \t\n/\\") {
		return false
	}
	if e, rest, ok := strings.Cut(v, ":"); ok {
		if _, err := strconv.Atoi(e); err != nil || rest == "" {
			return false
		}
		v = rest
	}
	return v != "" && strings.ContainsAny(v, "0123456789") && !strings.HasPrefix(v, "-")
}

var goToolchainRe = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(rc|beta)(\d+)$`)

// goSemver turns an OSV Go version ("1.2.3", "v1.2.3", stdlib "1.22.4",
// toolchain "go1.21rc2") into canonical golang.org/x/mod semver.
func goSemver(v string) (string, bool) {
	v = strings.TrimPrefix(v, "go")
	if m := goToolchainRe.FindStringSubmatch(v); m != nil {
		patch := m[3]
		if patch == "" {
			patch = "0"
		}
		v = fmt.Sprintf("v%s.%s.%s-%s.%s", m[1], m[2], patch, m[4], m[5])
	} else if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !gosemver.IsValid(v) {
		return "", false
	}
	return v, true
}

// semverV is a Masterminds version, or, when that cannot parse the string,
// the generic fallback: a sequence of numeric and alphabetic segments
// compared numerically / lexically (which orders dotted and dashed release
// strings the way people read them). The two never mix: a semver and a
// fallback value compare by their fallback form.
type semverV struct {
	sv  *semver.Version
	raw string
	// extra is a 4th numeric component (NuGet "1.2.3.4").
	extra uint64
}

func (x semverV) compare(o parsed) int {
	y := o.(semverV)
	if x.sv != nil && y.sv != nil {
		// Masterminds compares prerelease identifiers case-sensitively; NuGet
		// and Composer do not care, and lowercase is the common spelling.
		c := x.sv.Compare(y.sv)
		if c != 0 {
			if x.sv.Major() == y.sv.Major() && x.sv.Minor() == y.sv.Minor() && x.sv.Patch() == y.sv.Patch() &&
				strings.EqualFold(x.sv.Prerelease(), y.sv.Prerelease()) {
				c = 0
			} else {
				return c
			}
		}
		switch {
		case x.extra < y.extra:
			return -1
		case x.extra > y.extra:
			return 1
		}
		return 0
	}
	return genericCompare(x.raw, y.raw)
}

func parseSemverLenient(ecosystem, v string) (parsed, error) {
	if sv, err := semver.NewVersion(v); err == nil {
		return semverV{sv: sv, raw: v}, nil
	}
	if !genericValid(v) {
		return nil, invalid(ecosystem, v)
	}
	return semverV{raw: v}, nil
}

var nugetRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)\.(\d+)([-+].*)?$`)

// parseNuGet accepts NuGet's 4-part versions ("4.0.10.2"); a 4th part of 0
// equals the 3-part version, as NuGet normalises it away.
func parseNuGet(ecosystem, v string) (parsed, error) {
	if m := nugetRe.FindStringSubmatch(v); m != nil {
		extra, err := strconv.ParseUint(m[4], 10, 64)
		if err == nil {
			sv, err := semver.NewVersion(m[1] + "." + m[2] + "." + m[3] + m[5])
			if err == nil {
				return semverV{sv: sv, raw: v, extra: extra}, nil
			}
		}
	}
	return parseSemverLenient(ecosystem, v)
}

// composerNormalize drops what Composer allows around a version but semver
// does not: stability flags ("@dev") and a leading "v" is kept (Masterminds
// accepts it).
func composerNormalize(v string) string {
	if i := strings.IndexByte(v, '@'); i > 0 {
		v = v[:i]
	}
	return v
}

// genericValid accepts strings that look like some version: they contain a
// digit and only the characters release strings use.
func genericValid(v string) bool {
	digit := false
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '.', r == '-', r == '_', r == '+', r == '~':
		default:
			return false
		}
	}
	return digit
}

// genericCompare is the documented fallback for versions semver cannot
// parse: split into runs of digits and of letters (separators only
// delimit), compare runs pairwise — numbers numerically, words
// case-insensitively, a number newer than a word — and a longer version
// whose extra part starts with a number is newer ("1.0.1" > "1.0"), while
// one whose extra part starts with a word is older ("1.0rc1" < "1.0").
func genericCompare(a, b string) int {
	ta, tb := tokens(a), tokens(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, y := ta[i], tb[i]
		xn, yn := isNum(x), isNum(y)
		switch {
		case xn && yn:
			x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
			if len(x) != len(y) {
				return sign(len(x) - len(y))
			}
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		case xn:
			return 1
		case yn:
			return -1
		default:
			if c := strings.Compare(strings.ToLower(x), strings.ToLower(y)); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(ta) > len(tb):
		if isNum(ta[len(tb)]) {
			return 1
		}
		return -1
	case len(ta) < len(tb):
		if isNum(tb[len(ta)]) {
			return -1
		}
		return 1
	}
	return 0
}

func tokens(s string) []string {
	var out []string
	start := -1
	kind := 0 // 1 digit, 2 letter
	for i := 0; i <= len(s); i++ {
		k := 0
		if i < len(s) {
			c := s[i]
			switch {
			case c >= '0' && c <= '9':
				k = 1
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
				k = 2
			}
		}
		if k != kind {
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start = -1
			if k != 0 {
				start = i
			}
			kind = k
		}
	}
	return out
}

func isNum(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }
