package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    string // substring; "" = valid
		check      func(t *testing.T, c *Config)
	}{
		{name: "empty keeps defaults", yaml: "", check: func(t *testing.T, c *Config) {
			if !slices.Equal(c.Namespaces.Exclude, []string{"kube-system"}) || len(c.Sets) != 0 {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "full", yaml: `policies:
  BW-K8S-ALLOWED-REGISTRIES:
    mode: enforce
    params: {allowed_registries: [registry.example.com]}
sets: [pss-baseline, defender]
namespaces: {include: [shop], exclude: [kube-system, monitoring]}
exempt_images: ["registry.k8s.io/*"]
policy_dirs: [./policies]
`, check: func(t *testing.T, c *Config) {
			pc := c.Policies["BW-K8S-ALLOWED-REGISTRIES"]
			if pc.Mode != ModeEnforce || len(pc.Params["allowed_registries"].([]any)) != 1 {
				t.Errorf("policy config = %+v", pc)
			}
			if !slices.Equal(c.Namespaces.Exclude, []string{"kube-system", "monitoring"}) || !slices.Equal(c.Sets, []string{"pss-baseline", "defender"}) {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "unknown top-level field", yaml: "sets: [defender]\nnamespace: {}\n", wantErr: "line 2"},
		{name: "unknown nested field", yaml: "policies:\n  X:\n    mdoe: audit\n", wantErr: "line 3"},
		{name: "bad mode", yaml: "policies: {X: {mode: block}}\n", wantErr: "policies.X.mode"},
		{name: "unknown set", yaml: "sets: [pss-strict]\n", wantErr: "pss-strict"},
		{name: "not yaml", yaml: "sets: [\n", wantErr: "decode"},
		{name: "image vulns threshold", yaml: "policies:\n  BW-K8S-IMAGE-VULNS: {params: {severity: medium, fixable_only: true}}\n", check: func(t *testing.T, c *Config) {
			if p := c.Policies[ImageVulnsPolicy].Params; p["severity"] != "medium" || p["fixable_only"] != true {
				t.Errorf("params = %v", p)
			}
		}},
		{name: "image vulns bad threshold", yaml: "policies:\n  BW-K8S-IMAGE-VULNS: {params: {severity: urgent}}\n", wantErr: "params.severity: urgent is not critical, high, medium or low"},
		{name: "image vulns fixable_only not a boolean", yaml: "policies:\n  BW-K8S-IMAGE-VULNS: {params: {fixable_only: \"yes\"}}\n", wantErr: "fixable_only"},
		{name: "image vulns unknown parameter", yaml: "policies:\n  BW-K8S-IMAGE-VULNS: {params: {threshold: high}}\n", wantErr: `unknown parameter "threshold"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("LoadConfig of a missing file succeeded")
	}
}

func TestCompileGlob(t *testing.T) {
	tests := []struct {
		glob, image string
		want        bool
	}{
		{"registry.k8s.io/*", "registry.k8s.io/pause:3.9", true},
		{"registry.k8s.io/*", "registry.k8s.io/sig/x/y:1", true},
		{"registry.k8s.io/*", "evil.io/registry.k8s.io/x", false},
		{"nginx:1.2?", "nginx:1.27", true},
		{"nginx", "nginx:1.27", false},
		{"a.b", "axb", false},
	}
	for _, tt := range tests {
		re, err := compileGlob(tt.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.image); got != tt.want {
			t.Errorf("glob %q on %q = %v, want %v", tt.glob, tt.image, got, tt.want)
		}
	}
}

// TestParseServerConfig: the server's copy is --config's YAML, without
// policy_dirs (directories on the engine's machine).
func TestParseServerConfig(t *testing.T) {
	for _, c := range []struct {
		name, doc, err string
	}{
		{"modes", "policies:\n  BW-K8S-PRIVILEGED:\n    mode: enforce\n", ""},
		{"empty", "", ""},
		{"policy_dirs", "policy_dirs: [/etc/bulwark/policies]\n", "policy_dirs"},
		{"unknown key", "polices: {}\n", "decode"},
	} {
		cfg, err := ParseServerConfig([]byte(c.doc))
		if c.err == "" && (err != nil || cfg == nil) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want error containing %q", c.name, err, c.err)
		}
	}
}
