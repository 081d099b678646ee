package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Built-in policy sets.
const (
	SetPSSBaseline   = "pss-baseline"
	SetPSSRestricted = "pss-restricted"
	SetDefender      = "defender"
	SetCustom        = "custom" // user policies that name no set
)

// KnownSets lists the sets a config may activate.
func KnownSets() []string {
	return []string{SetPSSBaseline, SetPSSRestricted, SetDefender, SetCustom}
}

// Config is the user's policy configuration (one YAML file).
type Config struct {
	// Policies sets mode and parameters per policy id.
	Policies map[string]PolicyConfig `yaml:"policies" json:"policies,omitempty"`
	// Sets lists the active sets; empty means all of them. A policy is
	// active when any of its sets is.
	Sets []string `yaml:"sets" json:"sets,omitempty"`
	// Namespaces restricts which namespaces are evaluated.
	Namespaces NamespaceConfig `yaml:"namespaces" json:"namespaces"`
	// ExemptImages are globs ("*" matches any run of characters, "/"
	// included; "?" one character); matching containers are not evaluated.
	ExemptImages []string `yaml:"exempt_images" json:"exempt_images,omitempty"`
	// PolicyDirs hold user Rego modules following the contract in doc.go.
	PolicyDirs []string `yaml:"policy_dirs" json:"policy_dirs,omitempty"`
	// PodSecurity overrides namespaces' pod-security.kubernetes.io labels.
	PodSecurity PodSecurityConfig `yaml:"pod_security" json:"pod_security,omitempty"`
}

// PodSecurityConfig is the config's pod_security section.
type PodSecurityConfig struct {
	// Namespaces gives, per namespace, the Pod Security labels the webhook
	// and audit k8s use instead of the namespace's own, keyed without the
	// pod-security.kubernetes.io/ prefix (enforce, enforce-version, audit,
	// audit-version, warn, warn-version). An entry replaces the labels
	// entirely; an empty one ({}) ignores them, so the PSS policies apply
	// with their configured modes there.
	Namespaces map[string]map[string]string `yaml:"namespaces" json:"namespaces,omitempty"`
}

// podSecurityKeys are the keys of a pod_security.namespaces entry.
var podSecurityKeys = []string{"enforce", "enforce-version", "audit", "audit-version", "warn", "warn-version"}

// parse turns the entries into namespace policies; unlike labels read
// from a cluster, a bad value is an error.
func (p PodSecurityConfig) parse() (map[string]PSSNamespace, error) {
	out := map[string]PSSNamespace{}
	var errs []error
	for ns, entry := range p.Namespaces {
		labels := make(map[string]string, len(entry))
		for k, v := range entry {
			if !contains(podSecurityKeys, k) {
				errs = append(errs, fmt.Errorf("pod_security.namespaces.%s: unknown key %q (known: %s)", ns, k, strings.Join(podSecurityKeys, ", ")))
				continue
			}
			labels[PSSLabelPrefix+k] = v
		}
		parsed, labelled, perrs := PSSNamespaceFromLabels(labels)
		for _, err := range perrs {
			errs = append(errs, fmt.Errorf("pod_security.namespaces.%s: %w", ns, err))
		}
		if labelled {
			out[ns] = parsed
		}
	}
	return out, errors.Join(errs...)
}

// PolicyConfig is one policy's entry in the config.
type PolicyConfig struct {
	Mode   Mode           `yaml:"mode" json:"mode,omitempty"`
	Params map[string]any `yaml:"params" json:"params,omitempty"`
}

// NamespaceConfig: with Include set, only those namespaces are evaluated;
// Exclude always wins.
type NamespaceConfig struct {
	Include []string `yaml:"include" json:"include,omitempty"`
	Exclude []string `yaml:"exclude" json:"exclude,omitempty"`
}

// DefaultConfig is the config used when there is no file: every set
// active, default modes, kube-system excluded.
func DefaultConfig() *Config {
	return &Config{Namespaces: NamespaceConfig{Exclude: []string{"kube-system"}}}
}

// LoadConfig reads and validates a YAML config file. Fields it does not
// know are errors, reported with their line.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy config: %w", err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("policy config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes and validates a YAML config. Keys left out keep
// their DefaultConfig values.
func ParseConfig(b []byte) (*Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ParseServerConfig parses the policy config a server hands out: the YAML
// of --config without policy_dirs, which names directories on the
// engine's machine, not the server's to give.
func ParseServerConfig(b []byte) (*Config, error) {
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, err
	}
	if len(cfg.PolicyDirs) > 0 {
		return nil, errors.New("policy_dirs names directories on the engine's machine: keep it in a local --config, not in the server's")
	}
	return cfg, nil
}

// Validate checks modes, set names and image globs.
func (c *Config) Validate() error {
	var errs []error
	for id, pc := range c.Policies {
		if id == "" {
			errs = append(errs, errors.New("policies: empty policy id"))
		}
		switch pc.Mode {
		case "", ModeAudit, ModeEnforce, ModeDisabled:
		default:
			errs = append(errs, fmt.Errorf("policies.%s.mode: %q is not audit, enforce or disabled", id, pc.Mode))
		}
	}
	if pc, ok := c.Policies[ImageVulnsPolicy]; ok {
		errs = append(errs, validateImageVulnsParams(pc.Params)...)
	}
	known := KnownSets()
	for _, s := range c.Sets {
		if !contains(known, s) {
			errs = append(errs, fmt.Errorf("sets: unknown set %q (known: %s)", s, strings.Join(known, ", ")))
		}
	}
	for _, g := range c.ExemptImages {
		if _, err := compileGlob(g); err != nil {
			errs = append(errs, fmt.Errorf("exempt_images: %w", err))
		}
	}
	if _, err := c.PodSecurity.parse(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// compileGlob turns an image glob into an anchored regexp.
func compileGlob(g string) (*regexp.Regexp, error) {
	if g == "" {
		return nil, errors.New("empty image glob")
	}
	var sb strings.Builder
	sb.WriteString("^")
	for _, r := range g {
		switch r {
		case '*':
			sb.WriteString(".*")
		case '?':
			sb.WriteString(".")
		default:
			sb.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	sb.WriteString("$")
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return nil, fmt.Errorf("image glob %q: %w", g, err)
	}
	return re, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ImageVulnsPolicy is the policy fed with the server's image verdicts.
const ImageVulnsPolicy = "BW-K8S-IMAGE-VULNS"

// validateImageVulnsParams checks BW-K8S-IMAGE-VULNS's parameters: severity
// (the threshold: critical, high, medium or low) and fixable_only (a
// boolean). A typo would otherwise leave the policy silently at its
// defaults.
func validateImageVulnsParams(params map[string]any) []error {
	var errs []error
	for k, v := range params {
		switch k {
		case "severity":
			s, _ := v.(string)
			switch s {
			case "critical", "high", "medium", "low":
			default:
				errs = append(errs, fmt.Errorf("policies.%s.params.severity: %v is not critical, high, medium or low", ImageVulnsPolicy, v))
			}
		case "fixable_only":
			if _, ok := v.(bool); !ok {
				errs = append(errs, fmt.Errorf("policies.%s.params.fixable_only: %v is not true or false", ImageVulnsPolicy, v))
			}
		default:
			errs = append(errs, fmt.Errorf("policies.%s.params: unknown parameter %q (known: severity, fixable_only)", ImageVulnsPolicy, k))
		}
	}
	return errs
}
