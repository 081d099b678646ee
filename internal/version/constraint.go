package version

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	gem "github.com/aquasecurity/go-gem-version"
	npm "github.com/aquasecurity/go-npm-version/pkg"
	pep440 "github.com/aquasecurity/go-pep440-version"
	mvn "github.com/masahiro331/go-mvn-version"
)

// Satisfies reports whether v meets constraint, written in the ecosystem's
// native syntax: npm ranges ("<=1.5.1", ">=1.0.0 <1.2.3 || ^2.0.0"),
// Composer (">=2.7.0,<2.7.51", "^1.2 | ~2.0"), RubyGems requirement lists
// ("~> 2.2.6, >= 2.2.6.2"), PEP 440 specifiers, Maven ranges ("[1.0,2.0)")
// or operators. Distro, Go and NuGet constraints, and anything semver cannot
// read, are evaluated as comparison lists ("op version" terms joined by
// "," or spaces, alternatives by "||") with Compare.
func Satisfies(ecosystem, v, constraint string) (ok bool, err error) {
	v, constraint = strings.TrimSpace(v), strings.TrimSpace(constraint)
	if v == "" || len(v) > maxLen {
		return false, invalid(ecosystem, v)
	}
	if constraint == "" || len(constraint) > 4*maxLen {
		return false, fmt.Errorf("invalid constraint %q for %s", clip(constraint), ecosystem)
	}
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("check %q against %q for %s: parser panic: %v", clip(v), clip(constraint), ecosystem, r)
		}
	}()
	badConstraint := func(err error) error {
		return fmt.Errorf("parse %s constraint %q: %w", ecosystem, clip(constraint), err)
	}
	switch schemeOf(ecosystem) {
	case schemeNPM:
		nv, err := npm.NewVersion(v)
		if err != nil {
			return false, invalid(ecosystem, v)
		}
		c, err := npm.NewConstraints(constraint, npm.WithPreRelease(true))
		if err != nil {
			return false, badConstraint(err)
		}
		return c.Check(nv), nil
	case schemePEP440:
		pv, err := pep440.Parse(v)
		if err != nil {
			return false, invalid(ecosystem, v)
		}
		c, err := pep440.NewSpecifiers(constraint, pep440.WithPreRelease(true))
		if err != nil {
			return false, badConstraint(err)
		}
		return c.Check(pv), nil
	case schemeGem:
		gv, err := gem.NewVersion(v)
		if err != nil {
			return false, invalid(ecosystem, v)
		}
		c, err := gem.NewConstraints(constraint)
		if err != nil {
			return false, badConstraint(err)
		}
		return c.Check(gv), nil
	case schemeMaven:
		mv, err := mvn.NewVersion(v)
		if err != nil {
			return false, invalid(ecosystem, v)
		}
		if strings.HasPrefix(constraint, "[") || strings.HasPrefix(constraint, "(") {
			r, err := mvn.NewRequirements(constraint)
			if err != nil {
				return false, badConstraint(err)
			}
			return r.Check(mv), nil
		}
		c, err := mvn.NewConstraints(constraint)
		if err != nil {
			return false, badConstraint(err)
		}
		return c.Check(mv), nil
	case schemeComposer, schemeSemver:
		expr := constraint
		if schemeOf(ecosystem) == schemeComposer {
			expr = composerConstraint(expr)
		}
		if sv, err := semver.NewVersion(composerNormalize(v)); err == nil {
			if c, err := semver.NewConstraint(expr); err == nil {
				// Masterminds skips prereleases unless the constraint names
				// one; advisories mean every version in the range.
				if sv.Prerelease() == "" {
					return c.Check(sv), nil
				}
			}
		}
		return compareList(ecosystem, v, expr)
	}
	return compareList(ecosystem, v, constraint)
}

// composerConstraint rewrites Composer's single "|" alternative into "||".
func composerConstraint(c string) string {
	if strings.Contains(c, "||") {
		return c
	}
	return strings.ReplaceAll(c, "|", "||")
}

var operators = []string{">=", "<=", "!=", "==", ">", "<", "="}

// compareList evaluates "op version" terms (AND by "," or space, OR by
// "||") with Compare.
func compareList(ecosystem, v, constraint string) (bool, error) {
	if !Valid(ecosystem, v) {
		return false, invalid(ecosystem, v)
	}
	alts := strings.Split(strings.ReplaceAll(constraint, "||", "|"), "|")
	for _, alt := range alts {
		terms, err := splitTerms(alt)
		if err != nil {
			return false, fmt.Errorf("parse %s constraint %q: %w", ecosystem, clip(constraint), err)
		}
		all := true
		for _, t := range terms {
			c, err := Compare(ecosystem, v, t.version)
			if err != nil {
				return false, fmt.Errorf("parse %s constraint %q: %w", ecosystem, clip(constraint), err)
			}
			if !opHolds(t.op, c) {
				all = false
				break
			}
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

type term struct{ op, version string }

func splitTerms(s string) ([]term, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	var out []term
	pendingOp := ""
	for _, f := range fields {
		op := ""
		for _, o := range operators {
			if strings.HasPrefix(f, o) {
				op = o
				break
			}
		}
		rest := f[len(op):]
		if pendingOp != "" {
			if op != "" {
				return nil, fmt.Errorf("operator %q without a version", pendingOp)
			}
			op = pendingOp
			pendingOp = ""
		}
		if rest == "" {
			if op == "" {
				continue
			}
			pendingOp = op
			continue
		}
		if op == "" {
			op = "="
		}
		out = append(out, term{op: op, version: rest})
	}
	if pendingOp != "" {
		return nil, fmt.Errorf("operator %q without a version", pendingOp)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty constraint")
	}
	return out, nil
}

func opHolds(op string, c int) bool {
	switch op {
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	case "!=":
		return c != 0
	}
	return c == 0
}
