package policyreport

import (
	"encoding/json"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/sarif"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bulwarkdev/bulwark/internal/policy"
)

// Formats are the output formats Write knows.
var formats = map[string]func(io.Writer, *Report) error{
	"table": writeTable,
	"json":  writeJSON,
	"sarif": writeSARIF,
}

// Formats lists the format names, sorted.
func Formats() []string {
	out := make([]string, 0, len(formats))
	for f := range formats {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Write renders r in format (table, json, sarif).
func Write(w io.Writer, r *Report, format string) error {
	f, ok := formats[format]
	if !ok {
		return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats(), ", "))
	}
	return f(w, r)
}

func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// objectRef is "Kind namespace/name".
func objectRef(res policy.Result) string {
	n := res.Name
	if res.Namespace != "" {
		n = res.Namespace + "/" + n
	}
	return res.Kind + " " + n
}

// where says where an object came from: its manifest, else its resource id.
func where(res Result) string {
	if res.Source != "" {
		return res.Source
	}
	return res.Resource.ID
}

func writeTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tOBJECT\tPOLICY\tSEVERITY\tMODE\tMESSAGE")
	for _, res := range r.Results {
		for _, v := range res.Violations {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", where(res), objectRef(res.Result), v.PolicyID, v.Severity, v.Mode, oneLine(v.Message))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "\n%d object(s), %d excluded, %d unhealthy; %d violation(s): %d enforce, %d audit; %d policies checked\n",
		s.Objects, s.Excluded, s.Unhealthy, s.Violations, s.Enforce, s.Audit, len(r.Policies))
	for _, e := range r.LoadErrors {
		if _, err := fmt.Fprintf(w, "not loaded: %s\n", oneLine(e)); err != nil {
			return err
		}
	}
	return err
}

// oneLine keeps a message on its table row.
func oneLine(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// sourceFile turns "path:docN[…]" back into the path.
func sourceFile(src string) string {
	if i := strings.LastIndex(src, ":doc"); i >= 0 {
		return src[:i]
	}
	return src
}

func writeSARIF(w io.Writer, r *Report) error {
	pols := slices.Clone(r.Policies)
	sort.Slice(pols, func(i, j int) bool { return pols[i].ID < pols[j].ID })
	index := map[string]int{}
	drv := sarif.Driver{Name: "bulwark", Version: r.Version, InformationURI: "https://github.com/bulwarkdev/bulwark", Rules: []sarif.Rule{}}
	for i, p := range pols {
		index[p.ID] = i
		props := map[string]any{"severity": p.Severity, "mode": p.Mode, "tags": p.Sets}
		if p.PSSControl != "" {
			props["pss_control"] = p.PSSControl
		}
		drv.Rules = append(drv.Rules, sarif.Rule{ID: p.ID, Name: p.Title, ShortDescription: &sarif.Text{Text: p.Title},
			FullDescription: &sarif.Text{Text: p.Description}, Help: &sarif.Text{Text: p.Remediation}, Properties: props})
	}
	run := sarif.Run{Tool: sarif.Tool{Driver: drv}, Results: []sarif.Result{}}
	for _, res := range r.Results {
		for _, v := range res.Violations {
			name := objectRef(res.Result)
			if v.Path != "" {
				name += " " + v.Path
			}
			loc := sarif.Location{LogicalLocations: []sarif.Logical{{FullyQualifiedName: name, Kind: "object"}}}
			if res.Source != "" {
				loc.PhysicalLocation = &sarif.Physical{ArtifactLocation: sarif.Artifact{URI: sourceFile(res.Source)}}
			}
			msg := v.Message
			if v.Remediation != "" {
				msg += " Fix: " + v.Remediation
			}
			run.Results = append(run.Results, sarif.Result{RuleID: v.PolicyID, RuleIndex: index[v.PolicyID], Level: sarif.Level(v.Severity),
				Message: sarif.Text{Text: msg}, Locations: []sarif.Location{loc}})
		}
	}
	return sarif.Write(w, run)
}
