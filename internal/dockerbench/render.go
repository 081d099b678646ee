package dockerbench

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/sarif"
	"io"
	"strings"
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
	fmt.Fprintf(w, "\nScore: %d/%d automated controls passed (%.1f%%); %d failed, %d warnings, %d could not be evaluated, %d manual\n",
		s.Passed, s.Automated, s.Percent, s.Failed, s.Warned, s.Errors, s.Manual)
	for src, msg := range r.Collection {
		fmt.Fprintf(w, "warning: %s: %s\n", src, msg)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// JUnit: one testcase per control, named "ID title", so CI shows it as is.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Errors  int          `xml:"errors,attr"`
	Skipped int          `xml:"skipped,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name    string      `xml:"name,attr"`
	Tests   int         `xml:"tests,attr"`
	Fails   int         `xml:"failures,attr"`
	Errors  int         `xml:"errors,attr"`
	Skipped int         `xml:"skipped,attr"`
	Cases   []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func writeJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: r.Benchmark}
	idx := map[string]int{}
	for _, o := range r.Results {
		i, ok := idx[o.Section]
		if !ok {
			i = len(out.Suites)
			idx[o.Section] = i
			out.Suites = append(out.Suites, junitSuite{Name: o.Section})
		}
		s := &out.Suites[i]
		c := junitCase{Name: o.ID + " " + o.Title, Classname: "cis-docker." + strings.SplitN(o.ID, ".", 2)[0]}
		text := strings.Join(o.Evidence, "\n")
		switch o.Status {
		case Fail:
			c.Failure = &junitMessage{Message: firstLine(o.Evidence, "failed"), Type: "fail", Text: text + "\nRemediation: " + o.Remediation}
			s.Fails++
		case Warn:
			// A warning is not a pass: CI should see it.
			c.Failure = &junitMessage{Message: firstLine(o.Evidence, "warning"), Type: "warn", Text: text + "\nRemediation: " + o.Remediation}
			s.Fails++
		case Error:
			c.Error = &junitMessage{Message: firstLine(o.Evidence, "could not evaluate"), Text: text}
			s.Errors++
		case NotApplicable, Info:
			c.Skipped = &junitMessage{Message: string(o.Status), Text: text}
			s.Skipped++
		default:
			c.SystemOut = text
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, s := range out.Suites {
		out.Tests += s.Tests
		out.Fails += s.Fails
		out.Errors += s.Errors
		out.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
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
