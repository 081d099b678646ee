package advisory

import (
	"slices"
	"sort"
)

// Merge combines two records of one vulnerability id from different feeds:
// text and vendor severity from the first that has them, CVSS ratings,
// aliases and references from both, the KEV flag from either, the newest
// EPSS score.
func Merge(a, b Vulnerability) Vulnerability {
	out := a
	if out.Summary == "" {
		out.Summary = b.Summary
	}
	if out.Details == "" {
		out.Details = b.Details
	}
	if (out.Severity == "" || out.Severity == "unknown") && b.Severity != "" {
		out.Severity, out.SeveritySource = b.Severity, b.SeveritySource
	}
	out.Aliases = union(a.Aliases, b.Aliases)
	out.References = union(a.References, b.References)
	for _, c := range b.CVSS {
		dup := false
		for _, o := range out.CVSS {
			if o.Vector == c.Vector && o.Source == c.Source {
				dup = true
				break
			}
		}
		if !dup {
			out.CVSS = append(out.CVSS, c)
		}
	}
	if out.Published.IsZero() {
		out.Published = b.Published
	}
	if b.Modified.After(out.Modified) {
		out.Modified = b.Modified
	}
	if b.KnownExploited {
		out.KnownExploited = true
		if out.KEVDateAdded == "" {
			out.KEVDateAdded = b.KEVDateAdded
		}
	}
	if b.EPSS != nil && (out.EPSS == nil || b.EPSS.Date > out.EPSS.Date) {
		e := *b.EPSS
		out.EPSS = &e
	}
	if out.Source == "" {
		out.Source = b.Source
	} else if b.Source != "" && b.Source != out.Source && !slices.Contains(splitSources(out.Source), b.Source) {
		out.Source += "," + b.Source
	}
	return out
}

func splitSources(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
