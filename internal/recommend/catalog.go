// Package recommend is the recommendation catalogue and the rules that turn
// rule results into recommendations: which rules feed which recommendation,
// which security control it counts in, and what a resource's status for a
// recommendation is, exemptions considered. It is data (catalog.yaml) plus
// small pure functions; the store persists what they compute.
package recommend

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/model"
)

//go:embed catalog.yaml
var catalogYAML []byte

// Control is a security control: a group of recommendations worth MaxPoints
// of the secure score.
type Control struct {
	ID        string  `yaml:"id" json:"id"`
	Title     string  `yaml:"title" json:"title"`
	MaxPoints float64 `yaml:"max_points" json:"max_points"`
}

// Recommendation is one catalogue entry.
type Recommendation struct {
	ID            string   `yaml:"id" json:"id"`
	Title         string   `yaml:"title" json:"title"`
	Control       string   `yaml:"control" json:"control"`
	Severity      string   `yaml:"severity" json:"severity"`
	ResourceKinds []string `yaml:"resource_kinds" json:"resource_kinds"`
	Description   string   `yaml:"description" json:"description"`
	Remediation   []string `yaml:"remediation" json:"remediation"`
	// Rules are rule ids; RulePrefixes match every rule id that starts with
	// one (whole dotted sections: "CIS-K8S-5.1.").
	Rules        []string `yaml:"rules" json:"rules,omitempty"`
	RulePrefixes []string `yaml:"rule_prefixes" json:"rule_prefixes,omitempty"`
}

// Catalog is the parsed catalogue.
type Catalog struct {
	Source          string           `yaml:"source" json:"source"`
	Controls        []Control        `yaml:"controls" json:"controls"`
	Recommendations []Recommendation `yaml:"recommendations" json:"recommendations"`

	hash     string
	exact    map[string]int
	prefixes []prefix
	recs     map[string]int
	controls map[string]int
}

type prefix struct {
	p   string
	rec int
}

// Default parses the catalogue built into the binary.
func Default() (*Catalog, error) { return Parse(catalogYAML) }

// Hash identifies the catalogue's content: when a new version of the
// server brings another, every resource's recommendations are computed
// again.
func (c *Catalog) Hash() string { return c.hash }

// Parse reads and validates a catalogue.
func Parse(data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("read recommendation catalogue: %w", err)
	}
	if err := c.index(); err != nil {
		return nil, fmt.Errorf("recommendation catalogue: %w", err)
	}
	sum := sha256.Sum256(data)
	c.hash = hex.EncodeToString(sum[:])
	return &c, nil
}

func (c *Catalog) index() error {
	c.exact, c.recs, c.controls = map[string]int{}, map[string]int{}, map[string]int{}
	var errs []error
	for i, ct := range c.Controls {
		if ct.ID == "" || ct.Title == "" || ct.MaxPoints < 0 {
			errs = append(errs, fmt.Errorf("control %d: id, title and non-negative max_points are required", i))
		}
		if _, dup := c.controls[ct.ID]; dup {
			errs = append(errs, fmt.Errorf("control %s listed twice", ct.ID))
		}
		c.controls[ct.ID] = i
	}
	for i, r := range c.Recommendations {
		switch {
		case !strings.HasPrefix(r.ID, "REC-"):
			errs = append(errs, fmt.Errorf("recommendation %q: ids start with REC-", r.ID))
		case r.Title == "" || r.Description == "" || len(r.Remediation) == 0:
			errs = append(errs, fmt.Errorf("recommendation %s: title, description and remediation are required", r.ID))
		case len(r.Rules)+len(r.RulePrefixes) == 0:
			errs = append(errs, fmt.Errorf("recommendation %s: no rule feeds it", r.ID))
		}
		if _, ok := c.controls[r.Control]; !ok {
			errs = append(errs, fmt.Errorf("recommendation %s: unknown control %q", r.ID, r.Control))
		}
		if _, err := model.ParseSeverity(r.Severity); err != nil || r.Severity == "" {
			errs = append(errs, fmt.Errorf("recommendation %s: severity %q", r.ID, r.Severity))
		}
		if _, dup := c.recs[r.ID]; dup {
			errs = append(errs, fmt.Errorf("recommendation %s listed twice", r.ID))
		}
		c.recs[r.ID] = i
		for _, rule := range r.Rules {
			if j, dup := c.exact[rule]; dup {
				errs = append(errs, fmt.Errorf("rule %s is in both %s and %s", rule, c.Recommendations[j].ID, r.ID))
			}
			c.exact[rule] = i
		}
		for _, p := range r.RulePrefixes {
			if !strings.HasSuffix(p, ".") && !strings.HasSuffix(p, "-") {
				errs = append(errs, fmt.Errorf("recommendation %s: prefix %q must end at a section boundary (. or -)", r.ID, p))
			}
			c.prefixes = append(c.prefixes, prefix{p, i})
		}
	}
	// Longest prefix first, so a more specific section wins; overlaps are
	// reported by Check.
	sort.Slice(c.prefixes, func(a, b int) bool { return len(c.prefixes[a].p) > len(c.prefixes[b].p) })
	return errors.Join(errs...)
}

// For returns the recommendation a rule feeds.
func (c *Catalog) For(rule string) (*Recommendation, bool) {
	if i, ok := c.exact[rule]; ok {
		return &c.Recommendations[i], true
	}
	for _, p := range c.prefixes {
		if strings.HasPrefix(rule, p.p) {
			return &c.Recommendations[p.rec], true
		}
	}
	return nil, false
}

// matches lists every recommendation a rule matches (exact or prefix):
// exactly one is correct.
func (c *Catalog) matches(rule string) []string {
	var out []string
	if i, ok := c.exact[rule]; ok {
		out = append(out, c.Recommendations[i].ID)
	}
	for _, p := range c.prefixes {
		if strings.HasPrefix(rule, p.p) {
			out = append(out, c.Recommendations[p.rec].ID)
		}
	}
	return out
}

// Check verifies that every rule of the engines belongs to exactly one
// recommendation and that every catalogue rule and prefix names a real one.
func (c *Catalog) Check(rules []string) error {
	var errs []error
	known := map[string]bool{}
	for _, r := range rules {
		known[r] = true
		switch m := c.matches(r); len(m) {
		case 0:
			errs = append(errs, fmt.Errorf("rule %s belongs to no recommendation", r))
		case 1:
		default:
			errs = append(errs, fmt.Errorf("rule %s belongs to %d recommendations: %s", r, len(m), strings.Join(m, ", ")))
		}
	}
	for _, rec := range c.Recommendations {
		for _, r := range rec.Rules {
			if !known[r] {
				errs = append(errs, fmt.Errorf("%s names rule %s, which no engine has", rec.ID, r))
			}
		}
		for _, p := range rec.RulePrefixes {
			hit := false
			for r := range known {
				if strings.HasPrefix(r, p) {
					hit = true
					break
				}
			}
			if !hit {
				errs = append(errs, fmt.Errorf("%s: prefix %s matches no rule", rec.ID, p))
			}
		}
	}
	return errors.Join(errs...)
}

// Recommendation returns an entry by id.
func (c *Catalog) Recommendation(id string) (*Recommendation, bool) {
	i, ok := c.recs[id]
	if !ok {
		return nil, false
	}
	return &c.Recommendations[i], true
}

// Control returns a control by id.
func (c *Catalog) Control(id string) (*Control, bool) {
	i, ok := c.controls[id]
	if !ok {
		return nil, false
	}
	return &c.Controls[i], true
}

// Rule ids the server itself derives (not an engine's).
const (
	// RuleRunningImage is an image's VULN-image result when the image runs
	// on a host or in a cluster.
	RuleRunningImage = "VULN-running-image"
	RuleImage        = "VULN-image"
	// RuleHost is a host's (Docker host's, node's) own OS packages matched
	// like an image's: an agent's host inventory.
	RuleHost = "VULN-host"
)
