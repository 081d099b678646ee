package policy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.yaml.in/yaml/v3"
)

// PSSLevel is a Pod Security Standards level.
type PSSLevel string

// The levels, least to most restrictive.
const (
	PSSPrivileged PSSLevel = "privileged"
	PSSBaseline   PSSLevel = "baseline"
	PSSRestricted PSSLevel = "restricted"
)

// rank orders the levels; an unknown level ranks as restricted, the safe
// side (the API server treats an invalid enforce level so).
func (l PSSLevel) rank() int {
	switch l {
	case PSSPrivileged:
		return 0
	case PSSBaseline:
		return 1
	}
	return 2
}

// ParsePSSLevel parses a level as a namespace label or the config spells it.
func ParsePSSLevel(s string) (PSSLevel, error) {
	switch l := PSSLevel(s); l {
	case PSSPrivileged, PSSBaseline, PSSRestricted:
		return l, nil
	}
	return "", fmt.Errorf("pod security level %q: want privileged, baseline or restricted", s)
}

// PSSVersion is a Pod Security Standards version: v1.<minor>, or
// PSSLatest. Versions compare as their minor numbers; latest resolves to
// the newest version the engine's table describes (PSSLatestKnown).
type PSSVersion int

// PSSLatest is the "latest" version.
const PSSLatest PSSVersion = -1

// maxPSSMinor bounds a parsed minor: Kubernetes is far from 1.10000, and a
// bound keeps a hostile label from being an overflow.
const maxPSSMinor = 9999

// ParsePSSVersion parses "latest" or "v1.<minor>" (no leading zeros, no
// spaces), the values of a pod-security.kubernetes.io/<mode>-version label.
func ParsePSSVersion(s string) (PSSVersion, error) {
	if s == "latest" {
		return PSSLatest, nil
	}
	bad := fmt.Errorf("pod security version %q: want latest or v1.<minor>", s)
	rest, ok := strings.CutPrefix(s, "v1.")
	if !ok || rest == "" || len(rest) > 4 || (len(rest) > 1 && rest[0] == '0') {
		return 0, bad
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0, bad
		}
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n > maxPSSMinor {
		return 0, bad
	}
	return PSSVersion(n), nil
}

// String is "latest" or "v1.<minor>".
func (v PSSVersion) String() string {
	if v < 0 {
		return "latest"
	}
	return "v1." + strconv.Itoa(int(v))
}

// PSSLevelVersion is one mode's level at a version.
type PSSLevelVersion struct {
	Level   PSSLevel   `json:"level"`
	Version PSSVersion `json:"version"`
}

func (lv PSSLevelVersion) String() string { return string(lv.Level) + ":" + lv.Version.String() }

// MarshalText writes the version as the labels do.
func (v PSSVersion) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses the version as the labels do.
func (v *PSSVersion) UnmarshalText(b []byte) error {
	p, err := ParsePSSVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

//go:embed builtin/pss_versions.yaml
var pssVersionsYAML []byte

// pssTable is builtin/pss_versions.yaml, validated.
type pssTable struct {
	latest   PSSVersion              // the newest version described, never PSSLatest
	controls map[string]*pssControl  // by control name
	names    []string                // sorted
	facts    []*ast.Term             // input.pss per version, 0 … latest
	changes  map[string][]PSSVersion // versions at which each control changed, since included
	// overriders lists, per baseline control, the restricted controls
	// that override it.
	overriders map[string][]string
	// bit is each control's bit (1 << its index in names).
	bit map[string]uint64
}

type pssControl struct {
	Level     PSSLevel    `yaml:"level"`
	Since     PSSVersion  `yaml:"since"`
	Overrides []string    `yaml:"overrides"`
	Changes   []pssChange `yaml:"changes"`
}

type pssChange struct {
	Version PSSVersion     `yaml:"version"`
	Why     string         `yaml:"why"`
	Facts   map[string]any `yaml:"facts"`
}

// loadPSSTable parses and validates the versions table and builds each
// version's facts once: per evaluation, the engine only picks a term.
func loadPSSTable(b []byte) (*pssTable, error) {
	var doc struct {
		Latest   PSSVersion             `yaml:"latest"`
		Controls map[string]*pssControl `yaml:"controls"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("pss versions table: %w", err)
	}
	t := &pssTable{latest: doc.Latest, controls: doc.Controls, changes: map[string][]PSSVersion{}, overriders: map[string][]string{}}
	var errs []error
	if t.latest < 0 {
		errs = append(errs, errors.New("latest must be a version, not latest"))
	}
	for name, c := range t.controls {
		t.names = append(t.names, name)
		if c == nil {
			errs = append(errs, fmt.Errorf("control %s: empty", name))
			continue
		}
		if c.Level != PSSBaseline && c.Level != PSSRestricted {
			errs = append(errs, fmt.Errorf("control %s: level %q is not baseline or restricted", name, c.Level))
		}
		if c.Since < 0 || c.Since > t.latest {
			errs = append(errs, fmt.Errorf("control %s: since %s is not a version up to latest", name, c.Since))
		}
		for _, o := range c.Overrides {
			t.overriders[o] = append(t.overriders[o], name)
			oc, ok := t.controls[o]
			if c.Level != PSSRestricted || !ok || oc == nil || oc.Level != PSSBaseline {
				errs = append(errs, fmt.Errorf("control %s: overrides %q: a restricted control may override only a baseline one", name, o))
			}
		}
		prev := PSSVersion(-1)
		for i, ch := range c.Changes {
			switch {
			case i == 0 && ch.Version != c.Since:
				errs = append(errs, fmt.Errorf("control %s: first change at %s, want since (%s)", name, ch.Version, c.Since))
			case ch.Version <= prev || ch.Version > t.latest:
				errs = append(errs, fmt.Errorf("control %s: change at %s is not after %s and up to latest", name, ch.Version, prev))
			case i > 0 && ch.Why == "":
				errs = append(errs, fmt.Errorf("control %s: change at %s does not say why", name, ch.Version))
			}
			prev = ch.Version
		}
		t.changes[name] = []PSSVersion{c.Since}
		for _, ch := range c.Changes {
			if ch.Version != c.Since {
				t.changes[name] = append(t.changes[name], ch.Version)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pss versions table: %w", err)
	}
	sort.Strings(t.names)
	if len(t.names) > 64 {
		return nil, fmt.Errorf("pss versions table: %d controls, at most 64", len(t.names))
	}
	t.bit = map[string]uint64{}
	for i, name := range t.names {
		t.bit[name] = 1 << i
	}
	for v := PSSVersion(0); v <= t.latest; v++ {
		all := map[string]any{}
		for _, name := range t.names {
			facts := map[string]any{}
			for _, ch := range t.controls[name].Changes {
				if ch.Version > v {
					break
				}
				for k, x := range ch.Facts {
					facts[k] = x
				}
			}
			all[name] = facts
		}
		val, err := ast.InterfaceToValue(all)
		if err != nil {
			return nil, fmt.Errorf("pss versions table: facts at %s: %w", v, err)
		}
		t.facts = append(t.facts, ast.NewTerm(listsAsSets(val)))
	}
	return t, nil
}

// listsAsSets turns the facts' lists into Rego sets: the policies test
// membership with a reference (safe[name]), which costs no builtin call
// where `in` over an array does, on every review.
func listsAsSets(v ast.Value) ast.Value {
	switch x := v.(type) {
	case *ast.Array:
		terms := make([]*ast.Term, 0, x.Len())
		x.Foreach(func(t *ast.Term) { terms = append(terms, ast.NewTerm(listsAsSets(t.Value))) })
		return ast.NewSet(terms...)
	case ast.Object:
		out := ast.NewObject()
		x.Foreach(func(k, t *ast.Term) { out.Insert(k, ast.NewTerm(listsAsSets(t.Value))) })
		return out
	}
	return v
}

// resolve maps latest, and versions after the newest described, to the
// newest described: the API server evaluates a future version as its
// latest.
func (t *pssTable) resolve(v PSSVersion) PSSVersion {
	if v < 0 || v > t.latest {
		return t.latest
	}
	return v
}

// inEffect reports whether control exists at version v (resolved).
func (t *pssTable) inEffect(control string, v PSSVersion) bool {
	c, ok := t.controls[control]
	return ok && c.Since <= t.resolve(v)
}

// PSSLatestKnown is the newest Pod Security Standards version the built-in
// policies describe: what "latest" means.
func PSSLatestKnown() PSSVersion {
	return mustPSSTable().latest
}

// PSSChange is one change of a control at a version, for `scan k8s
// --compare` and the docs.
type PSSChange struct {
	Control string     `json:"control"`
	Version PSSVersion `json:"version"`
	Why     string     `json:"why"`
}

// PSSChanges lists the changes of the Standards after from up to and
// including to (either order), by version then control: what moving a
// namespace's label from one to the other changes. A control's
// introduction is a change ("introduced").
func PSSChanges(from, to PSSVersion) []PSSChange {
	t := mustPSSTable()
	a, b := t.resolve(from), t.resolve(to)
	if a > b {
		a, b = b, a
	}
	var out []PSSChange
	for _, name := range t.names {
		c := t.controls[name]
		if c.Since > a && c.Since <= b {
			out = append(out, PSSChange{Control: name, Version: c.Since, Why: "introduced"})
		}
		for _, ch := range c.Changes {
			if ch.Version > a && ch.Version <= b && ch.Version != c.Since {
				out = append(out, PSSChange{Control: name, Version: ch.Version, Why: ch.Why})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// builtinPSS is the parsed built-in table; it is data compiled into the
// binary, so a failure is a build defect that TestPSSVersionsTable reports.
var builtinPSS, builtinPSSErr = loadPSSTable(pssVersionsYAML)

func mustPSSTable() *pssTable {
	if builtinPSSErr != nil {
		panic(builtinPSSErr)
	}
	return builtinPSS
}

// pssFactsModule is a Rego module, package bulwark.testdata.pss, whose
// facts map "latest" and every version to input.pss at that version: the
// built-in policies' Rego tests read it, so they test the table's facts
// rather than copies of them.
func pssFactsModule() (*ast.Module, error) {
	t := builtinPSS
	if builtinPSSErr != nil {
		return nil, builtinPSSErr
	}
	facts := ast.NewObject(ast.Item(ast.StringTerm("latest"), t.facts[t.latest]))
	for v, f := range t.facts {
		facts.Insert(ast.StringTerm(PSSVersion(v).String()), f)
	}
	src := "package bulwark.testdata.pss\n\nfacts := " + facts.String() + "\n"
	return parseModule("pss_facts.rego", []byte(src))
}
