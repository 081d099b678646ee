package policy

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// PSSMode is what a namespace's Pod Security level does with a violation,
// as the API server's PodSecurity admission applies it.
type PSSMode string

// The modes, as the pod-security.kubernetes.io/<mode> labels name them.
const (
	PSSEnforce PSSMode = "enforce" // deny
	PSSAudit   PSSMode = "audit"   // admit; audit annotation
	PSSWarn    PSSMode = "warn"    // admit; warning to the client
)

// PSSModes lists the modes in label order.
func PSSModes() []PSSMode { return []PSSMode{PSSEnforce, PSSAudit, PSSWarn} }

// PSSLabelPrefix prefixes the namespace labels.
const PSSLabelPrefix = "pod-security.kubernetes.io/"

// PSSNamespace is the Pod Security policy of one namespace: a level at a
// version per mode. The zero value applies nothing.
type PSSNamespace struct {
	Enforce PSSLevelVersion `json:"enforce"`
	Audit   PSSLevelVersion `json:"audit"`
	Warn    PSSLevelVersion `json:"warn"`
}

// Mode returns the level and version of one mode.
func (p PSSNamespace) Mode(m PSSMode) PSSLevelVersion {
	switch m {
	case PSSEnforce:
		return p.Enforce
	case PSSAudit:
		return p.Audit
	}
	return p.Warn
}

// Versions lists the distinct versions of the modes whose level is not
// privileged, in mode order: the evaluations a review needs (one, usually).
func (p PSSNamespace) Versions() []PSSVersion {
	var out []PSSVersion
	for _, m := range PSSModes() {
		lv := p.Mode(m)
		if lv.Level == PSSPrivileged || lv.Level == "" {
			continue
		}
		seen := false
		for _, v := range out {
			seen = seen || v == lv.Version
		}
		if !seen {
			out = append(out, lv.Version)
		}
	}
	return out
}

// privilegedEverywhere is the API server's default: nothing applied.
func privilegedEverywhere() PSSNamespace {
	p := PSSLevelVersion{Level: PSSPrivileged, Version: PSSLatest}
	return PSSNamespace{Enforce: p, Audit: p, Warn: p}
}

// PSSNamespaceFromLabels reads a namespace's pod-security.kubernetes.io
// labels as the API server does. labelled is false when the namespace has
// none of them (the caller then keeps its own default). Invalid values are
// reported in errs and replaced as the API server replaces them: an invalid
// enforce level by restricted, an invalid audit or warn level by
// privileged (they fail open), an invalid version by latest. Warn follows
// an explicit enforce level that is stricter than it, with enforce's
// version unless warn-version is set.
func PSSNamespaceFromLabels(labels map[string]string) (p PSSNamespace, labelled bool, errs []error) {
	p = privilegedEverywhere()
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys) // errors in a stable order
	var hasEnforce, hasWarnLevel, hasWarnVersion bool
	for _, k := range keys {
		val := labels[k]
		var lv *PSSLevelVersion
		var mode PSSMode
		isVersion := false
		switch k {
		case PSSLabelPrefix + "enforce", PSSLabelPrefix + "enforce-version":
			lv, mode = &p.Enforce, PSSEnforce
		case PSSLabelPrefix + "audit", PSSLabelPrefix + "audit-version":
			lv, mode = &p.Audit, PSSAudit
		case PSSLabelPrefix + "warn", PSSLabelPrefix + "warn-version":
			lv, mode = &p.Warn, PSSWarn
		default:
			continue
		}
		labelled = true
		isVersion = len(k) > len(PSSLabelPrefix)+len(mode)
		if isVersion {
			v, err := ParsePSSVersion(val)
			if err != nil {
				errs = append(errs, fmt.Errorf("label %s: %w", k, err))
				v = PSSLatest
			}
			lv.Version = v
			hasWarnVersion = hasWarnVersion || mode == PSSWarn
			continue
		}
		l, err := ParsePSSLevel(val)
		if err != nil {
			errs = append(errs, fmt.Errorf("label %s: %w", k, err))
			l = PSSPrivileged // audit and warn fail open
			if mode == PSSEnforce {
				l = PSSRestricted // enforce fails closed
			}
		}
		lv.Level = l
		hasEnforce = hasEnforce || (mode == PSSEnforce && err == nil)
		hasWarnLevel = hasWarnLevel || mode == PSSWarn
	}
	if !hasWarnLevel && hasEnforce && p.Enforce.Level.rank() > p.Warn.Level.rank() {
		p.Warn.Level = p.Enforce.Level
		if !hasWarnVersion {
			p.Warn.Version = p.Enforce.Version
		}
	}
	return p, labelled, errs
}

// NamespacedResult is the evaluation of one object under its namespace's
// Pod Security policy.
type NamespacedResult struct {
	// Result.Violations holds the other policies' violations, with their
	// own modes, and the PSS violations of every mode: mode enforce for
	// those the enforce level denies, audit for the others.
	Result
	// Enforce, Warn and Audit are the PSS violations at each mode's level
	// and version; Other the other policies' violations.
	Enforce, Warn, Audit, Other []Violation
}

// EvaluateNamespaced evaluates doc under a namespace's Pod Security policy,
// as the API server's PodSecurity admission applies it: the PSS policies
// at each mode's level and version instead of their configured modes (a
// level names its policies, so a namespace at baseline is not reported
// for restricted controls), the other policies as configured. One
// evaluation per distinct version of the modes: one when, as usual, every
// mode uses the same.
func (e *Engine) EvaluateNamespaced(ctx context.Context, doc *Document, ns PSSNamespace) (NamespacedResult, error) {
	versions := ns.Versions()
	if len(versions) == 0 {
		versions = []PSSVersion{e.pssVersion} // for the other policies
	}
	byVersion := make(map[PSSVersion]Result, len(versions))
	for _, v := range versions {
		res, err := e.evaluate(ctx, doc, v)
		if err != nil {
			return NamespacedResult{Result: res}, err
		}
		byVersion[v] = res
	}
	out := NamespacedResult{Result: byVersion[versions[0]]}
	if out.Excluded != "" {
		return out, nil
	}
	out.PodSecurity = &ns
	var kept []Violation
	for _, x := range out.Violations {
		if e.pssControl[x.PolicyID] == "" {
			kept = append(kept, x)
		}
	}
	out.Other = slices.Clone(kept)
	inEnforce := map[violationKey]bool{}
	seen := map[violationKey]bool{}
	for _, m := range PSSModes() {
		lv := ns.Mode(m)
		if lv.Level == PSSPrivileged || lv.Level == "" {
			continue
		}
		vs := e.pssLevel(byVersion[lv.Version].Violations, lv)
		for i := range vs {
			k := keyOf(vs[i])
			switch m {
			case PSSEnforce:
				vs[i].Mode = ModeEnforce
				inEnforce[k] = true
			default:
				vs[i].Mode = ModeAudit
			}
		}
		switch m {
		case PSSEnforce:
			out.Enforce = vs
		case PSSWarn:
			out.Warn = vs
		case PSSAudit:
			out.Audit = vs
		}
	}
	// One entry per violation in Result: enforce wins.
	for _, group := range [][]Violation{out.Enforce, out.Warn, out.Audit} {
		for _, x := range group {
			k := keyOf(x)
			if seen[k] || (x.Mode != ModeEnforce && inEnforce[k]) {
				continue
			}
			seen[k] = true
			kept = append(kept, x)
		}
	}
	if kept == nil {
		kept = []Violation{}
	}
	SortViolations(kept)
	out.Violations = kept
	return out, nil
}

type violationKey struct{ policy, path, msg string }

func keyOf(v Violation) violationKey { return violationKey{v.PolicyID, v.Path, v.Message} }

// pssLevel selects the PSS violations that count at lv: of controls at or
// below its level, in effect at its version, overrides applied at the
// restricted level. The result is a new slice.
func (e *Engine) pssLevel(vs []Violation, lv PSSLevelVersion) []Violation {
	var sel []Violation
	for _, x := range vs {
		c := e.pssControl[x.PolicyID]
		if c == "" || e.pss.controls[c].Level.rank() > lv.Level.rank() {
			continue
		}
		sel = append(sel, x)
	}
	restricted := lv.Level == PSSRestricted
	return e.pssApply(sel, lv.Version, func(c string) bool { return restricted && e.restrictedEnabled(c) })
}

// PodSecurityFor is the Pod Security policy of a namespace with the given
// labels: the config's pod_security.namespaces entry when it has one,
// else its labels. labelled is false when neither says anything (the PSS
// policies then apply with their configured modes, at the engine's
// version). Invalid label values are replaced as the API server replaces
// them (PSSNamespaceFromLabels) and returned in errs.
func (e *Engine) PodSecurityFor(namespace string, labels map[string]string) (p PSSNamespace, labelled bool, errs []error) {
	if o, ok := e.nsOverride[namespace]; ok {
		return o, true, nil
	}
	if e.nsIgnore[namespace] {
		return PSSNamespace{}, false, nil
	}
	return PSSNamespaceFromLabels(labels)
}
