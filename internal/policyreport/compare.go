package policyreport

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulwarkdev/bulwark/internal/policy"
)

// Comparison is what moving from one Pod Security Standards version to
// another changes for a set of objects (`scan k8s --pss-version A
// --compare B`): the upgrade question, per object.
type Comparison struct {
	SchemaVersion string    `json:"schema_version"`
	Tool          string    `json:"tool"`
	Version       string    `json:"version"`
	GeneratedAt   time.Time `json:"generated_at"`
	// From and To are the versions compared, "latest" resolved (v1.37).
	From string `json:"from"`
	To   string `json:"to"`
	// Changes are the Standards' own changes between the two.
	Changes []policy.PSSChange `json:"changes"`
	// Objects lists every object whose violations differ, in input order.
	Objects []ObjectChange `json:"objects"`
	Summary CompareSummary `json:"summary"`
	// LoadErrors are manifests that could not be read.
	LoadErrors []string `json:"load_errors,omitempty"`

	reported map[string]bool
}

// ObjectChange is one object's difference between the two versions.
type ObjectChange struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"api_version"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Source     string `json:"source,omitempty"`
	// Added are violated at To and not at From (what the move would newly
	// deny or warn about); Removed the reverse.
	Added   []policy.Violation `json:"added"`
	Removed []policy.Violation `json:"removed"`
}

// CompareSummary counts the objects.
type CompareSummary struct {
	Objects  int `json:"objects"`  // evaluated (excluded ones not counted)
	Changed  int `json:"changed"`  // with any difference
	Added    int `json:"added"`    // with a violation only at To
	Removed  int `json:"removed"`  // with a violation only at From
	Violated int `json:"violated"` // violating anything at To
}

// NewComparison starts a comparison of from and to (either may be
// latest) over the given policies (others' violations are ignored).
func NewComparison(version string, generatedAt time.Time, from, to policy.PSSVersion, policies []policy.Policy) *Comparison {
	resolve := func(v policy.PSSVersion) policy.PSSVersion {
		if v == policy.PSSLatest || v > policy.PSSLatestKnown() {
			return policy.PSSLatestKnown()
		}
		return v
	}
	c := &Comparison{
		SchemaVersion: SchemaVersion, Tool: "bulwark", Version: version, GeneratedAt: generatedAt.UTC(),
		From: resolve(from).String(), To: resolve(to).String(), Changes: policy.PSSChanges(from, to),
		Objects: []ObjectChange{}, reported: map[string]bool{},
	}
	if c.Changes == nil {
		c.Changes = []policy.PSSChange{}
	}
	for _, p := range policies {
		c.reported[p.ID] = true
	}
	return c
}

// Add records one object evaluated at both versions.
func (c *Comparison) Add(at, other policy.Result) {
	if at.Excluded != "" {
		return
	}
	c.Summary.Objects++
	keep := func(vs []policy.Violation) []policy.Violation {
		var out []policy.Violation
		for _, v := range vs {
			if c.reported[v.PolicyID] {
				out = append(out, v)
			}
		}
		return out
	}
	from, to := keep(at.Violations), keep(other.Violations)
	if len(to) > 0 {
		c.Summary.Violated++
	}
	oc := ObjectChange{Kind: at.Kind, APIVersion: at.APIVersion, Namespace: at.Namespace, Name: at.Name, Source: at.Source,
		Added: minus(to, from), Removed: minus(from, to)}
	if len(oc.Added) == 0 && len(oc.Removed) == 0 {
		return
	}
	c.Summary.Changed++
	if len(oc.Added) > 0 {
		c.Summary.Added++
	}
	if len(oc.Removed) > 0 {
		c.Summary.Removed++
	}
	c.Objects = append(c.Objects, oc)
}

// minus is a without the violations of b (same policy, path and message).
func minus(a, b []policy.Violation) []policy.Violation {
	out := []policy.Violation{}
	for _, v := range a {
		if !slices.ContainsFunc(b, func(w policy.Violation) bool {
			return v.PolicyID == w.PolicyID && v.Path == w.Path && v.Message == w.Message
		}) {
			out = append(out, v)
		}
	}
	return out
}

// CompareFormats are the formats WriteComparison knows.
func CompareFormats() []string { return []string{"json", "table"} }

// WriteComparison renders c as table or json.
func WriteComparison(w io.Writer, c *Comparison, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(c)
	case "table":
		return writeComparisonTable(w, c)
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(CompareFormats(), ", "))
}

func writeComparisonTable(w io.Writer, c *Comparison) error {
	fmt.Fprintf(w, "Pod Security Standards %s → %s\n", c.From, c.To)
	if len(c.Changes) > 0 {
		fmt.Fprintln(w, "\nWhat changed in the Standards:")
		for _, ch := range c.Changes {
			fmt.Fprintf(w, "  %s  %s: %s\n", ch.Version, ch.Control, ch.Why)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SOURCE\tOBJECT\tCHANGE\tPOLICY\tMODE\tMESSAGE\n")
	for _, o := range c.Objects {
		ref := objectRef(policy.Result{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name})
		src := o.Source
		if src == "" {
			src = "-"
		}
		for _, v := range o.Added {
			fmt.Fprintf(tw, "%s\t%s\t+ at %s\t%s\t%s\t%s\n", src, ref, c.To, v.PolicyID, v.Mode, oneLine(v.Message))
		}
		for _, v := range o.Removed {
			fmt.Fprintf(tw, "%s\t%s\t- at %s\t%s\t%s\t%s\n", src, ref, c.To, v.PolicyID, v.Mode, oneLine(v.Message))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := c.Summary
	_, err := fmt.Fprintf(w, "\n%d object(s): %d change, %d newly violate, %d no longer violate; %d violate at %s\n",
		s.Objects, s.Changed, s.Added, s.Removed, s.Violated, c.To)
	for _, e := range c.LoadErrors {
		fmt.Fprintf(w, "not loaded: %s\n", e)
	}
	return err
}
