package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Rule is one detection as written in YAML (docs/runtime.md).
type Rule struct {
	ID          string            `yaml:"id" json:"id"`
	Title       string            `yaml:"title" json:"title"`
	Description string            `yaml:"description" json:"description,omitempty"`
	Severity    model.Severity    `yaml:"severity" json:"severity"`
	Tactics     []string          `yaml:"tactics" json:"tactics,omitempty"`
	Techniques  []string          `yaml:"techniques" json:"techniques,omitempty"`
	Sources     []event.Source    `yaml:"sources" json:"sources,omitempty"`
	Kinds       []event.Kind      `yaml:"kinds" json:"kinds,omitempty"`
	Match       Match             `yaml:"match" json:"match,omitzero"`
	Needs       Needs             `yaml:"needs" json:"needs,omitzero"`
	Condition   string            `yaml:"condition" json:"condition"`
	Output      map[string]string `yaml:"output" json:"output,omitempty"`
	Resource    string            `yaml:"resource" json:"resource,omitempty"`
	Remediation string            `yaml:"remediation" json:"remediation,omitempty"`
	Enabled     *bool             `yaml:"enabled" json:"enabled,omitempty"`
	Correlate   *Correlate        `yaml:"correlate" json:"correlate,omitempty"`
	Sequence    *Sequence         `yaml:"sequence" json:"sequence,omitempty"`
	Tests       []RuleTest        `yaml:"tests" json:"tests,omitempty"`

	// File is where the rule was read from ("builtin:name.yaml" or a path).
	File string `yaml:"-" json:"file"`
}

// IsEnabled: rules are on unless `enabled: false`.
func (r *Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// Match is the cheap string-equality prefilter checked through the index.
type Match struct {
	Actions      []string `yaml:"actions" json:"actions,omitempty"`
	Resources    []string `yaml:"resources" json:"resources,omitempty"`
	Subresources []string `yaml:"subresources" json:"subresources,omitempty"`
	// Exes constrains process executions to these executables: base names
	// of evt.process.exe (or evt.process.name), globs allowed (a glob with
	// a '/' matches the full path). ExesList adds every entry of the named
	// lists, so extending a list extends the prefilter.
	Exes     []string `yaml:"exes" json:"exes,omitempty"`
	ExesList NameList `yaml:"exes_list" json:"exes_list,omitempty"`
	// CmdlineContains (and the entries of the CmdlineContainsList lists)
	// also let through executions whose evt.process.cmdline contains one of
	// these substrings, ASCII case ignored: for rules that match a few
	// executables or a command-line pattern of any executable.
	CmdlineContains     []string `yaml:"cmdline_contains" json:"cmdline_contains,omitempty"`
	CmdlineContainsList NameList `yaml:"cmdline_contains_list" json:"cmdline_contains_list,omitempty"`
}

// NameList reads one name or a list of names.
type NameList []string

func (l *NameList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = NameList{n.Value}
		return nil
	}
	var names []string
	if err := n.Decode(&names); err != nil {
		return err
	}
	*l = names
	return nil
}

// Correlate fires when Threshold matching events (or distinct values of
// Distinct) fall within Window for one Key.
type Correlate struct {
	Key       string   `yaml:"key" json:"key"`
	Window    Duration `yaml:"window" json:"window"`
	Threshold int      `yaml:"threshold" json:"threshold"`
	Distinct  string   `yaml:"distinct" json:"distinct,omitempty"`
}

// Sequence fires when the condition holds within Window after an event
// matching First for the same Key; Capture's values reach the condition as
// `captured`.
type Sequence struct {
	Key     string   `yaml:"key" json:"key"`
	Window  Duration `yaml:"window" json:"window"`
	First   string   `yaml:"first" json:"first"`
	Capture string   `yaml:"capture" json:"capture,omitempty"`
}

// RuleTest is one of a rule's own test cases.
type RuleTest struct {
	Name   string `yaml:"name" json:"name"`
	Fire   bool   `yaml:"fire" json:"fire"`
	Events []any  `yaml:"events" json:"events"`
}

// Duration reads "60s", "5m", "1h".
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: %w", n.Line, n.Value, err)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

var (
	idPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.\-]*$`)
	resources = map[string]bool{"": true, "auto": true, "host": true, "container": true, "pod": true, "object": true}
	sources   = map[event.Source]bool{event.SourceK8sAudit: true, event.SourceDocker: true, event.SourceEBPF: true,
		event.SourceProc: true, event.SourceAuditd: true, event.SourceFalco: true}
	kinds = map[event.Kind]bool{event.KindK8sAudit: true, event.KindProcessExec: true, event.KindNetConnect: true,
		event.KindFile: true, event.KindNamespace: true, event.KindContainer: true, event.KindImage: true, event.KindNetwork: true,
		event.KindVolume: true, event.KindFalco: true}
)

// ParseRules decodes the rule documents of one YAML file strictly: unknown
// fields, bad values and missing required fields are errors naming the file
// and the rule id. CEL is checked later, by compile.
func ParseRules(file string, data []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var out []*Rule
	for i := 0; ; i++ {
		var r Rule
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rule file %s: rule %s (document %d): %w", file, orUnknown(docID(data, i)), i+1, err)
		}
		r.File = file
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("rule file %s: rule %s: %w", file, orUnknown(r.ID), err)
		}
		out = append(out, &r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rule file %s: no rule", file)
	}
	return out, nil
}

// docID reads the id of document i leniently, so a strict-decoding error
// can still name the rule.
func docID(data []byte, i int) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc struct {
		ID any `yaml:"id"`
	}
	for j := 0; j <= i; j++ {
		doc.ID = nil
		if dec.Decode(&doc) != nil {
			return ""
		}
	}
	if s, ok := doc.ID.(string); ok {
		return s
	}
	return ""
}

func orUnknown(id string) string {
	if id == "" {
		return "(no id)"
	}
	return id
}

func (r *Rule) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !idPattern.MatchString(r.ID) {
		bad("id %q: want letters, digits, '_', '.', '-'", r.ID)
	}
	if !r.IsEnabled() {
		// `id: X` + `enabled: false` is enough to turn a built-in off.
		return errors.Join(errs...)
	}
	if r.Title == "" {
		bad("title is required")
	}
	sev, err := model.ParseSeverity(string(r.Severity))
	if err != nil || sev == model.SeverityUnknown {
		bad("severity %q: want critical, high, medium, low or info", r.Severity)
	}
	r.Severity = sev
	for _, s := range r.Sources {
		if !sources[s] {
			bad("unknown source %q", s)
		}
	}
	for _, k := range r.Kinds {
		if !kinds[k] {
			bad("unknown kind %q", k)
		}
	}
	if strings.TrimSpace(r.Condition) == "" {
		bad("condition is required")
	}
	if err := r.Needs.validate(); err != nil {
		bad("%v", err)
	}
	for _, x := range r.Match.Exes {
		if x == "" {
			bad("match.exes: empty name")
		}
	}
	for _, x := range r.Match.CmdlineContains {
		if x == "" {
			bad("match.cmdline_contains: empty substring")
		}
	}
	for _, x := range append(append([]string{}, r.Match.ExesList...), r.Match.CmdlineContainsList...) {
		if !listName.MatchString(x) {
			bad("match: list name %q: want an identifier", x)
		}
	}
	if !resources[r.Resource] {
		bad("resource %q: want auto, host, container, pod or object", r.Resource)
	}
	if r.Correlate != nil && r.Sequence != nil {
		bad("correlate and sequence are exclusive")
	}
	if c := r.Correlate; c != nil {
		if c.Key == "" || c.Window <= 0 || c.Threshold < 1 {
			bad("correlate needs key, a positive window and threshold ≥ 1")
		}
	}
	if s := r.Sequence; s != nil {
		if s.Key == "" || s.Window <= 0 || s.First == "" {
			bad("sequence needs key, a positive window and first")
		}
	}
	for i, t := range r.Tests {
		if len(t.Events) == 0 {
			bad("test %d (%s): no events", i+1, t.Name)
		}
		for j, raw := range t.Events {
			if _, err := decodeTestEvent(raw); err != nil {
				bad("test %d (%s) event %d: %v", i+1, t.Name, j+1, err)
			}
		}
	}
	return errors.Join(errs...)
}

// decodeTestEvent turns a YAML test event into an Event through its JSON
// shape (so request_object may be written as YAML), rejecting unknown fields.
func decodeTestEvent(v any) (*event.Event, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ev event.Event
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	return &ev, nil
}

// ListsFile is a lists file: `lists: {name: [..]}`.
type ListsFile struct {
	Lists map[string][]string `yaml:"lists"`
}

var listName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseLists decodes one lists file strictly.
func ParseLists(file string, data []byte) (map[string][]string, error) {
	var lf ListsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&lf); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("lists file %s: %w", file, err)
	}
	for name := range lf.Lists {
		if !listName.MatchString(name) {
			return nil, fmt.Errorf("lists file %s: list name %q: want an identifier", file, name)
		}
	}
	return lf.Lists, nil
}

// Exception suppresses alerts: every field that is set must match (globs);
// an expired exception is ignored.
type Exception struct {
	Rules      []string `yaml:"rules" json:"rules"`
	Namespaces []string `yaml:"namespaces" json:"namespaces,omitempty"`
	Images     []string `yaml:"images" json:"images,omitempty"`
	Users      []string `yaml:"users" json:"users,omitempty"`
	Processes  []string `yaml:"processes" json:"processes,omitempty"`
	Hosts      []string `yaml:"hosts" json:"hosts,omitempty"`
	Reason     string   `yaml:"reason" json:"reason"`
	Expires    Date     `yaml:"expires" json:"expires,omitzero"`

	File string `yaml:"-" json:"file"`
}

// Date reads 2027-03-31 (end of that day, UTC) or an RFC 3339 time.
type Date struct{ time.Time }

func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if t, err := time.Parse(time.RFC3339, n.Value); err == nil {
		d.Time = t
		return nil
	}
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		return fmt.Errorf("line %d: expires %q: want YYYY-MM-DD or RFC 3339", n.Line, n.Value)
	}
	d.Time = t.Add(24 * time.Hour) // valid through that whole day
	return nil
}

// ParseExceptions decodes one exceptions file strictly.
func ParseExceptions(file string, data []byte) ([]*Exception, error) {
	var ef struct {
		Exceptions []*Exception `yaml:"exceptions"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&ef); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("exceptions file %s: %w", file, err)
	}
	for i, e := range ef.Exceptions {
		if e == nil || len(e.Rules) == 0 {
			return nil, fmt.Errorf("exceptions file %s: exception %d: rules is required (use [\"*\"] for all)", file, i+1)
		}
		if e.Reason == "" {
			return nil, fmt.Errorf("exceptions file %s: exception %d: reason is required", file, i+1)
		}
		e.File = file
	}
	return ef.Exceptions, nil
}
