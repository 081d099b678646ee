package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParsePSSVersion(t *testing.T) {
	tests := []struct {
		in   string
		want PSSVersion
		ok   bool
	}{
		{"latest", PSSLatest, true},
		{"v1.0", 0, true},
		{"v1.29", 29, true},
		{"v1.37", 37, true},
		{"v1.99", 99, true}, // a future version: valid, evaluated as latest
		{"v1.9999", 9999, true},
		{"v1.10000", 0, false},
		{"", 0, false},
		{"Latest", 0, false},
		{"1.29", 0, false},
		{"v1.", 0, false},
		{"v1.029", 0, false},
		{"v1.-1", 0, false},
		{"v1.+2", 0, false},
		{"v2.0", 0, false},
		{"v1.29 ", 0, false},
		{"v1.2x", 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePSSVersion(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParsePSSVersion(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("ParsePSSVersion(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestPSSNamespaceFromLabels(t *testing.T) {
	lv := func(l PSSLevel, v PSSVersion) PSSLevelVersion { return PSSLevelVersion{Level: l, Version: v} }
	priv := lv(PSSPrivileged, PSSLatest)
	tests := []struct {
		name     string
		labels   map[string]string
		want     PSSNamespace
		labelled bool
		errs     int
	}{
		{name: "none", labels: map[string]string{"team": "shop"}, want: PSSNamespace{priv, priv, priv}},
		{
			name:   "enforce pinned; warn follows enforce",
			labels: map[string]string{PSSLabelPrefix + "enforce": "baseline", PSSLabelPrefix + "enforce-version": "v1.29"},
			want:   PSSNamespace{Enforce: lv(PSSBaseline, 29), Audit: priv, Warn: lv(PSSBaseline, 29)}, labelled: true,
		},
		{
			name: "every mode",
			labels: map[string]string{PSSLabelPrefix + "enforce": "baseline", PSSLabelPrefix + "audit": "restricted", PSSLabelPrefix + "audit-version": "v1.30",
				PSSLabelPrefix + "warn": "restricted", PSSLabelPrefix + "warn-version": "latest"},
			want: PSSNamespace{Enforce: lv(PSSBaseline, PSSLatest), Audit: lv(PSSRestricted, 30), Warn: lv(PSSRestricted, PSSLatest)}, labelled: true,
		},
		{
			name:   "warn version kept when enforce is stricter",
			labels: map[string]string{PSSLabelPrefix + "enforce": "restricted", PSSLabelPrefix + "enforce-version": "v1.25", PSSLabelPrefix + "warn-version": "v1.30"},
			want:   PSSNamespace{Enforce: lv(PSSRestricted, 25), Audit: priv, Warn: lv(PSSRestricted, 30)}, labelled: true,
		},
		{
			name:   "invalid enforce level fails closed",
			labels: map[string]string{PSSLabelPrefix + "enforce": "strict"},
			want:   PSSNamespace{Enforce: lv(PSSRestricted, PSSLatest), Audit: priv, Warn: priv}, labelled: true, errs: 1,
		},
		{
			name:   "invalid warn level and version fail open",
			labels: map[string]string{PSSLabelPrefix + "warn": "x", PSSLabelPrefix + "warn-version": "1.2", PSSLabelPrefix + "audit": "baseline"},
			want:   PSSNamespace{Enforce: priv, Audit: lv(PSSBaseline, PSSLatest), Warn: priv}, labelled: true, errs: 2,
		},
		{name: "unrelated pod-security label", labels: map[string]string{PSSLabelPrefix + "enforcer": "x"}, want: PSSNamespace{priv, priv, priv}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, labelled, errs := PSSNamespaceFromLabels(tt.labels)
			if got != tt.want || labelled != tt.labelled || len(errs) != tt.errs {
				t.Errorf("got %+v labelled %v errs %v; want %+v labelled %v %d errors", got, labelled, errs, tt.want, tt.labelled, tt.errs)
			}
		})
	}
}

// FuzzPSSNamespaceFromLabels: any label values parse without panicking,
// every mode ends with a valid level, and a version that parses prints
// back as it was written.
func FuzzPSSNamespaceFromLabels(f *testing.F) {
	f.Add("baseline", "v1.29", "restricted", "latest")
	f.Add("strict", "v1.029", "", "v1.")
	f.Add("privileged", "v1.9999", "restricted", "v1.10000")
	f.Fuzz(func(t *testing.T, enforce, enforceVersion, warn, warnVersion string) {
		p, labelled, _ := PSSNamespaceFromLabels(map[string]string{
			PSSLabelPrefix + "enforce": enforce, PSSLabelPrefix + "enforce-version": enforceVersion,
			PSSLabelPrefix + "warn": warn, PSSLabelPrefix + "warn-version": warnVersion,
		})
		if !labelled {
			t.Fatal("labels not seen")
		}
		for _, m := range PSSModes() {
			if _, err := ParsePSSLevel(string(p.Mode(m).Level)); err != nil {
				t.Fatalf("mode %s: %v", m, err)
			}
		}
		for _, s := range []string{enforceVersion, warnVersion} {
			if v, err := ParsePSSVersion(s); err == nil && v.String() != s {
				t.Fatalf("ParsePSSVersion(%q) prints as %q", s, v.String())
			}
		}
	})
}

// TestPSSVersionsTable checks the built-in table and that every PSS policy
// has a control in it and every control a policy.
func TestPSSVersionsTable(t *testing.T) {
	if builtinPSSErr != nil {
		t.Fatal(builtinPSSErr)
	}
	e, err := New(context.Background(), &Config{})
	if err != nil {
		t.Fatal(err)
	}
	var controls []string
	for _, c := range e.pssControl {
		controls = append(controls, c)
	}
	slices.Sort(controls)
	if !slices.Equal(controls, builtinPSS.names) {
		t.Errorf("PSS policies implement %v; the table describes %v", controls, builtinPSS.names)
	}
	// Facts only grow in the sysctls' safe list: a version never takes
	// one back.
	prev := []any{}
	for v := PSSVersion(0); v <= builtinPSS.latest; v++ {
		safe := PSSFactsValue(t, v, "sysctls", "safe").([]any)
		for _, s := range prev {
			if !slices.Contains(safe, s) {
				t.Errorf("%s: sysctl %v no longer safe", v, s)
			}
		}
		prev = safe
	}
}

func PSSFactsValue(t *testing.T, v PSSVersion, keys ...string) any {
	t.Helper()
	var x any = PSSFacts(v)
	for _, k := range keys {
		m, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("facts at %s: %s is not an object", v, k)
		}
		x = m[k]
	}
	return x
}

func TestLoadPSSTableErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "latest: v1.3\nfoo: 1\n", "field foo not found"},
		{"bad version", "latest: v1.3\ncontrols:\n  a: {level: baseline, since: 1.2}\n", "want latest or v1.<minor>"},
		{"bad level", "latest: v1.3\ncontrols:\n  a: {level: strict, since: v1.0}\n", "is not baseline or restricted"},
		{"since after latest", "latest: v1.3\ncontrols:\n  a: {level: baseline, since: v1.4}\n", "up to latest"},
		{"baseline overrides", "latest: v1.3\ncontrols:\n  a: {level: baseline, since: v1.0, overrides: [b]}\n  b: {level: baseline, since: v1.0}\n", "may override only"},
		{"first change not at since", "latest: v1.3\ncontrols:\n  a: {level: baseline, since: v1.1, changes: [{version: v1.0}]}\n", "want since"},
		{"change without why", "latest: v1.3\ncontrols:\n  a: {level: baseline, since: v1.0, changes: [{version: v1.0}, {version: v1.2}]}\n", "does not say why"},
		{"changes out of order", "latest: v1.3\ncontrols:\n  a: {level: baseline, since: v1.0, changes: [{version: v1.0}, {version: v1.0, why: x}]}\n", "is not after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadPSSTable([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestPSSChanges(t *testing.T) {
	got := PSSChanges(30, PSSLatest)
	var s []string
	for _, c := range got {
		s = append(s, fmt.Sprintf("%s %s", c.Version, c.Control))
	}
	want := []string{"v1.31 seLinuxOptions", "v1.32 sysctls", "v1.34 hostProbesAndHostLifecycle", "v1.35 procMount",
		"v1.35 procMount_restricted", "v1.35 runAsNonRoot", "v1.35 runAsUser", "v1.37 sysctls"}
	if !slices.Equal(s, want) {
		t.Errorf("PSSChanges(v1.30, latest) = %q, want %q", s, want)
	}
	if len(PSSChanges(PSSLatest, 30)) != len(got) {
		t.Error("PSSChanges is not symmetric")
	}
}

// TestEvaluateNamespaced: each mode at its own level and version, and the
// restricted controls' overrides (a Windows pod is exempt from
// capabilities_restricted from 1.25 on, which replaces
// capabilities_baseline at the restricted level, so adding SYS_ADMIN is
// admitted at restricted and denied at baseline, as by the API server).
func TestEvaluateNamespaced(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, &Config{})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(extra string) *Document {
		d, err := ParseDocument([]byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": {` + extra + `
			"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}, "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]},
			"containers": [{"name": "c", "image": "reg.example/c:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	lv := func(l PSSLevel, v PSSVersion) PSSLevelVersion { return PSSLevelVersion{Level: l, Version: v} }
	ids := func(vs []Violation) []string {
		var out []string
		for _, v := range vs {
			if !slices.Contains(out, v.PolicyID) {
				out = append(out, v.PolicyID)
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name                string
		doc                 *Document
		ns                  PSSNamespace
		enforce, warn, audt []string
	}{
		{
			name:    "baseline at 1.31: tcp_rmem not yet safe",
			doc:     pod(""),
			ns:      PSSNamespace{Enforce: lv(PSSBaseline, 31), Warn: lv(PSSRestricted, PSSLatest)},
			enforce: []string{"BW-PSS-CAPABILITIES-BASELINE", "BW-PSS-SYSCTLS"},
			warn:    []string{"BW-PSS-CAPABILITIES-BASELINE", "BW-PSS-CAPABILITIES-RESTRICTED"},
		},
		{
			name:    "Windows pod at restricted 1.32: exempt, baseline overridden",
			doc:     pod(`"os": {"name": "windows"},`),
			ns:      PSSNamespace{Enforce: lv(PSSRestricted, 32), Audit: lv(PSSRestricted, 24), Warn: lv(PSSBaseline, 32)},
			enforce: nil,
			audt:    []string{"BW-PSS-CAPABILITIES-BASELINE", "BW-PSS-CAPABILITIES-RESTRICTED", "BW-PSS-SYSCTLS"},
			warn:    []string{"BW-PSS-CAPABILITIES-BASELINE"},
		},
		{name: "privileged everywhere", doc: pod(""), ns: privilegedEverywhere()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.EvaluateNamespaced(ctx, tt.doc, tt.ns)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(res.Enforce); !slices.Equal(g, tt.enforce) {
				t.Errorf("enforce %v, want %v", g, tt.enforce)
			}
			if g := ids(res.Warn); !slices.Equal(g, tt.warn) {
				t.Errorf("warn %v, want %v", g, tt.warn)
			}
			if g := ids(res.Audit); !slices.Equal(g, tt.audt) {
				t.Errorf("audit %v, want %v", g, tt.audt)
			}
			for _, v := range res.Violations {
				want := ModeAudit
				if slices.ContainsFunc(res.Enforce, func(x Violation) bool { return keyOf(x) == keyOf(v) }) {
					want = ModeEnforce
				}
				if v.Mode != want {
					t.Errorf("%s in Result with mode %s, want %s", v.PolicyID, v.Mode, want)
				}
			}
		})
	}
}
