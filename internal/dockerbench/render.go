package dockerbench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/junit"
	"github.com/bulwarkdev/bulwark/internal/sarif"
)

// Formats Write knows.
var Formats = []string{"table", "json", "sarif", "junit"}

// Write renders the report.
func Write(w io.Writer, format string, r *Report, version string) error {
	switch format {
	case "table", "":
		return writeTable(w, r)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	case "sarif":
		return writeSARIF(w, r, version)
	case "junit":
		return writeJUnit(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, r *Report) error {
	h := r.Host
	fmt.Fprintf(w, "Host: %s  Docker %s (API %s)  %s, kernel %s\n", h.Name, h.DockerVersion, h.APIVersion, h.OS, h.Kernel)
	fmt.Fprintf(w, "Storage driver: %s  Images: %d  Containers: %d running / %d total  Swarm: %s\n\n", h.StorageDriver, h.Images, h.ContainersRunning, h.Containers, orDash(h.Swarm))
	section := ""
	for _, o := range r.Results {
		if o.Section != section {
			section = o.Section
			fmt.Fprintf(w, "\n[%s]\n", section)
		}
		kind := "auto"
		if !o.Automated {
			kind = "manual"
		}
		fmt.Fprintf(w, "%-14s %-7s L%d %-6s %s\n", strings.ToUpper(string(o.Status)), o.ID, o.Level, kind, o.Title)
		if o.Status == Fail || o.Status == Warn || o.Status == Error || o.Status == Info {
			for i, e := range o.Evidence {
				if i == 20 {
					fmt.Fprintf(w, "%32s… %d more\n", "", len(o.Evidence)-20)
					break
				}
				fmt.Fprintf(w, "%32s%s\n", "", e)
			}
		}
	}
	s := r.Score
	fmt.Fprintf(w, "\nScore: %d/%d automated controls passed (%.1f%%); %d failed, %s, %d could not be evaluated, %d manual\n",
		s.Passed, s.Automated, s.Percent, s.Failed, plural(s.Warned, "warning"), s.Errors, s.Manual)
	for src, msg := range r.Collection {
		fmt.Fprintf(w, "warning: %s: %s\n", src, msg)
	}
	return nil
}

// plural is "1 warning", "2 warnings".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeJUnit: one test case per control, named "ID title", one suite per
// section, so CI shows it as is.
func writeJUnit(w io.Writer, r *Report) error {
	out := junit.New(r.Benchmark)
	for _, o := range r.Results {
		c := junit.Case{Name: o.ID + " " + o.Title, Classname: "cis-docker." + strings.SplitN(o.ID, ".", 2)[0]}
		text := strings.Join(o.Evidence, "\n")
		switch o.Status {
		case Fail:
			c.Failure = &junit.Message{Message: firstLine(o.Evidence, "failed"), Type: "fail", Text: text + "\nRemediation: " + o.Remediation}
		case Warn:
			// A warning is not a pass: CI should see it.
			c.Failure = &junit.Message{Message: firstLine(o.Evidence, "warning"), Type: "warn", Text: text + "\nRemediation: " + o.Remediation}
		case Error:
			c.Error = &junit.Message{Message: firstLine(o.Evidence, "could not evaluate"), Text: text}
		case NotApplicable, Info:
			c.Skipped = &junit.Message{Message: string(o.Status), Text: text}
		default:
			c.SystemOut = text
		}
		out.Add(o.Section, c)
	}
	return out.Write(w)
}

func firstLine(ev []string, def string) string {
	if len(ev) == 0 {
		return def
	}
	if len(ev) == 1 {
		return ev[0]
	}
	return fmt.Sprintf("%s (and %d more)", ev[0], len(ev)-1)
}

// SARIF 2.1.0: one rule per control, one result per failed or warned
// control (its evidence in the message).
func writeSARIF(w io.Writer, r *Report, version string) error {
	rules := []sarif.Rule{}
	results := []sarif.Result{}
	host := r.Host.Name
	if host == "" {
		host = "docker-host"
	}
	for _, o := range r.Results {
		sev := "7.0"
		if o.Level == 2 {
			sev = "5.0"
		}
		rules = append(rules, sarif.Rule{ID: "CIS-DOCKER-" + o.ID, Name: "CISDocker" + strings.ReplaceAll(o.ID, ".", "_"),
			ShortDescription: &sarif.Text{Text: o.Title}, Help: &sarif.Text{Text: o.Remediation},
			Properties: map[string]any{"tags": []string{"security", "cis-docker", o.Section}, "security-severity": sev}})
		level := ""
		switch o.Status {
		case Fail:
			level = "error"
		case Warn, Error:
			level = "warning"
		default:
			continue
		}
		results = append(results, sarif.Result{RuleID: "CIS-DOCKER-" + o.ID, RuleIndex: len(rules) - 1, Level: level,
			Message:   sarif.Text{Text: o.Title + ": " + strings.Join(o.Evidence, "; ")},
			Locations: []sarif.Location{{LogicalLocations: []sarif.Logical{{Name: host, Kind: "resource"}}}}})
	}
	drv := sarif.Driver{Name: "bulwark", Version: version, InformationURI: "https://github.com/bulwarkdev/bulwark", Rules: rules}
	return sarif.Write(w, sarif.Run{Tool: sarif.Tool{Driver: drv}, Results: results})
}
