package k8sbench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/junit"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/sarif"
	"github.com/bulwarkdev/bulwark/internal/text"
)

// Formats Write knows.
var Formats = []string{"table", "json", "sarif", "junit"}

// Write renders the report.
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "table", "":
		return writeTable(w, r)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	case "sarif":
		return writeSARIF(w, r)
	case "junit":
		return writeJUnit(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// tableStatus is the word the table prints, kube-bench's where it has one.
var tableStatus = map[model.AssessmentStatus]string{
	model.AssessHealthy: "PASS", model.AssessUnhealthy: "FAIL", model.AssessNotApplicable: "N/A",
	model.AssessNotAssessed: "NOT ASSESSED", model.AssessManual: "MANUAL", model.AssessError: "ERROR", model.AssessExempt: "EXEMPT",
}

func writeTable(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	res := r.Resource
	fmt.Fprintf(ew, "%s, profile %s\n", r.Benchmark, r.Profile)
	fmt.Fprintf(ew, "Cluster: %s  id %s  Kubernetes %s\n", text.Escape(res.Name), orDash(res.ID), orDash(res.Facts["version"]))
	for _, rr := range r.Results {
		if rr.Resource.Kind == KindNode {
			fmt.Fprintf(ew, "Node: %s  layout %s  components: %s\n", text.Escape(rr.Resource.Name), rr.Resource.Facts["layout"], orDash(text.Escape(rr.Resource.Facts["components"])))
		}
	}
	section := ""
	for _, o := range r.outcomes {
		if o.Control.Section != section {
			section = o.Control.Section
			fmt.Fprintf(ew, "\n[%s]\n", section)
		}
		kind := "auto"
		if !o.Control.Automated {
			kind = "manual"
		}
		fmt.Fprintf(ew, "%-12s %-28s %-6s %s\n", tableStatus[o.Status], o.Control.Rule(), kind, o.Control.Title)
		if o.Status == model.AssessHealthy {
			continue
		}
		for i, e := range o.Evidence {
			if i == 20 {
				fmt.Fprintf(ew, "%49s… %d more\n", "", len(o.Evidence)-20)
				break
			}
			fmt.Fprintf(ew, "%49s%s\n", "", text.Escape(e))
		}
	}
	s := r.Summary
	fmt.Fprintf(ew, "\n%d checks: %d pass, %d fail, %d not applicable, %d not assessed, %d manual, %d error\n",
		s.Total, s.Healthy, s.Unhealthy, s.NotApplicable, s.NotAssessed, s.Manual, s.Error)
	for src, msg := range r.CollectionErrors {
		fmt.Fprintf(ew, "warning: %s: %s\n", src, text.Escape(msg))
	}
	return ew.err
}

// errWriter keeps the first write error, so the table's many Fprintfs are
// checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeJUnit: one suite per section, one test case per control, so CI
// lists them as they are; unhealthy is a failure, error an error, the rest
// skipped.
func writeJUnit(w io.Writer, r *Report) error {
	out := junit.New(r.Benchmark)
	for _, o := range r.outcomes {
		c := junit.Case{Name: o.Control.Rule() + " " + o.Control.Title, Classname: "cis-k8s." + string(o.Control.Target)}
		body := strings.Join(o.Evidence, "\n")
		msg := string(o.Status)
		if len(o.Evidence) > 0 {
			msg = o.Evidence[0]
		}
		switch o.Status {
		case model.AssessUnhealthy:
			c.Failure = &junit.Message{Message: msg, Text: body + "\nRemediation: " + o.Control.Remediation}
		case model.AssessError:
			c.Error = &junit.Message{Message: msg, Text: body}
		case model.AssessHealthy:
			c.SystemOut = body
		default:
			c.Skipped = &junit.Message{Message: string(o.Status), Text: body}
		}
		out.Add(o.Control.Section, c)
	}
	return out.Write(w)
}

// securitySeverity is SARIF's numeric severity for GitHub code scanning.
var securitySeverity = map[model.Severity]string{
	model.SeverityCritical: "9.5", model.SeverityHigh: "8.0", model.SeverityMedium: "5.5", model.SeverityLow: "2.0", model.SeverityInfo: "0.0",
}

// SARIF 2.1.0: one rule per control, one result per unhealthy or error
// outcome, located at the cluster or node it is about.
func writeSARIF(w io.Writer, r *Report) error {
	rules := []sarif.Rule{}
	results := []sarif.Result{}
	nodeName := ""
	for _, rr := range r.Results {
		if rr.Resource.Kind == KindNode {
			nodeName = rr.Resource.Name
		}
	}
	for _, o := range r.outcomes {
		c := o.Control
		rules = append(rules, sarif.Rule{ID: c.Rule(), Name: "CISK8s" + strings.NewReplacer(".", "_", "-", "_").Replace(c.ID),
			ShortDescription: &sarif.Text{Text: c.Title}, Help: &sarif.Text{Text: c.Remediation},
			Properties: map[string]any{"tags": []string{"security", "cis-kubernetes", string(c.Target)}, "security-severity": securitySeverity[c.Severity]}})
		level := ""
		switch o.Status {
		case model.AssessUnhealthy:
			level = sarif.Level(o.Severity)
		case model.AssessError:
			level = "warning"
		default:
			continue
		}
		where := r.Resource.Name
		if c.Target.NodeSide() && nodeName != "" {
			where = nodeName
		}
		results = append(results, sarif.Result{RuleID: c.Rule(), RuleIndex: len(rules) - 1, Level: level,
			Message:   sarif.Text{Text: c.Title + ": " + strings.Join(o.Evidence, "; ")},
			Locations: []sarif.Location{{LogicalLocations: []sarif.Logical{{Name: where, Kind: "resource"}}}}})
	}
	drv := sarif.Driver{Name: "bulwark", Version: r.Tool.Version, InformationURI: "https://github.com/bulwarkdev/bulwark", Rules: rules}
	return sarif.Write(w, sarif.Run{Tool: sarif.Tool{Driver: drv}, Results: results})
}
