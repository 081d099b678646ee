package blindspot

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// Blindness is one reason a rule cannot (fully) fire, reported once.
type Blindness struct {
	Rule   string `json:"rule"`
	Grade  Grade  `json:"grade"`
	Reason string `json:"reason"`
}

// Observer watches what actually arrives and reports each rule blinded
// by it once: audit events of a rule's resource and verb recorded below
// the level the rule reads. It also holds the blindness known from the
// start (Add), so one place answers for logs, metrics and summaries.
// Observe is meant for the one engine goroutine: its common path (an event
// at a sufficient level) takes no lock and allocates nothing.
type Observer struct {
	// byResource indexes audit rules that read more than metadata by the
	// resource they watch ("*" for any).
	byResource map[string][]auditWatch
	maxNeed    int
	report     func(Blindness)
	// observed is what Observe has reported, so a repeat costs one map
	// lookup; only the engine goroutine touches it.
	observed map[obsKey]struct{}

	mu   sync.Mutex
	seen map[string]bool // rule \x00 reason key
	list []Blindness
}

// maxObserved bounds what Observe remembers: request kinds are few, but
// their names come from the API server's clients.
const maxObserved = 4096

type obsKey struct {
	rule, verb, group, resource, sub string
	level                            runtime.AuditLevel
}

type auditWatch struct {
	rule    string
	need    runtime.AuditLevel // to fire
	details runtime.AuditLevel // for a complete alert
	verbs   map[string]bool    // nil: any
	subs    map[string]bool    // nil: any
}

// NewObserver indexes rules; report (may be nil) is called once per new
// blindness, outside any lock.
func NewObserver(rules []*runtime.Rule, report func(Blindness)) *Observer {
	o := &Observer{byResource: map[string][]auditWatch{}, report: report, seen: map[string]bool{}, observed: map[obsKey]struct{}{}}
	for _, r := range rules {
		if !r.IsEnabled() {
			continue
		}
		n := r.Requirements()
		if n.Details.Rank() <= runtime.AuditMetadata.Rank() {
			continue
		}
		o.maxNeed = max(o.maxNeed, n.Details.Rank())
		w := auditWatch{rule: r.ID, need: n.Audit, details: n.Details}
		if len(r.Match.Actions) > 0 {
			w.verbs = set(r.Match.Actions)
		}
		if len(r.Match.Subresources) > 0 {
			w.subs = set(r.Match.Subresources)
		}
		resources := r.Match.Resources
		if len(resources) == 0 {
			resources = []string{"*"}
		}
		for _, res := range resources {
			o.byResource[res] = append(o.byResource[res], w)
		}
	}
	return o
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Observe looks at one event.
func (o *Observer) Observe(ev *event.Event) {
	if ev == nil || ev.K8s == nil || ev.K8s.Level == "" {
		return
	}
	lvl := runtime.AuditLevel(ev.K8s.Level)
	if lvl.Rank() >= o.maxNeed {
		return
	}
	k := ev.K8s
	for _, res := range [2]string{k.Resource, "*"} {
		for _, w := range o.byResource[res] {
			if lvl.Rank() >= w.details.Rank() || (w.verbs != nil && !w.verbs[k.Verb]) || (w.subs != nil && !w.subs[k.Subresource]) {
				continue
			}
			key := obsKey{w.rule, k.Verb, k.APIGroup, k.Resource, k.Subresource, lvl}
			if _, done := o.observed[key]; done || len(o.observed) >= maxObserved {
				continue
			}
			o.observed[key] = struct{}{}
			q := Request{Verb: k.Verb, Group: k.APIGroup, Resource: k.Resource, Subresource: k.Subresource}
			if lvl.Rank() < w.need.Rank() {
				o.Add(Blindness{Rule: w.rule, Grade: Blind,
					Reason: fmt.Sprintf("%s events arrive at audit level %s; the rule reads the request body (needs %s)", q, lvl, w.need)})
				continue
			}
			o.Add(Blindness{Rule: w.rule, Grade: Partial,
				Reason: fmt.Sprintf("%s events arrive at audit level %s; the rule fires, but its alert lacks what it reads from the body (needs %s)", q, lvl, w.details)})
		}
	}
}

// Add records a blindness (known at start, or observed); repeats are
// ignored.
func (o *Observer) Add(b Blindness) {
	key := b.Rule + "\x00" + b.Reason
	o.mu.Lock()
	if o.seen[key] {
		o.mu.Unlock()
		return
	}
	o.seen[key] = true
	o.list = append(o.list, b)
	o.mu.Unlock()
	if o.report != nil {
		o.report(b)
	}
}

// AddCoverage records every rule an analysis found less than full.
func (o *Observer) AddCoverage(cs []Coverage) {
	for _, c := range cs {
		if c.Grade == Full {
			continue
		}
		for _, r := range c.Reasons {
			o.Add(Blindness{Rule: c.Rule, Grade: c.Grade, Reason: r})
		}
	}
}

// List returns what was recorded, by rule then reason.
func (o *Observer) List() []Blindness {
	o.mu.Lock()
	out := append([]Blindness(nil), o.list...)
	o.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// Rules returns the ids of the rules recorded blind or partial, sorted.
func (o *Observer) Rules() []string {
	var ids []string
	for _, b := range o.List() {
		if len(ids) == 0 || ids[len(ids)-1] != b.Rule {
			ids = append(ids, b.Rule)
		}
	}
	return ids
}

// WriteMetrics writes bulwark_rule_blind{rule,grade,reason} 1 per
// recorded blindness, in the Prometheus text format.
func (o *Observer) WriteMetrics(w io.Writer) error {
	if _, err := io.WriteString(w, "# HELP bulwark_rule_blind A detection rule that cannot fire (grade blind) or only partly (grade partial), and why.\n# TYPE bulwark_rule_blind gauge\n"); err != nil {
		return err
	}
	for _, b := range o.List() {
		if _, err := fmt.Fprintf(w, "bulwark_rule_blind{rule=%q,grade=%q,reason=%q} 1\n", b.Rule, b.Grade, promLabel(b.Reason)); err != nil {
			return err
		}
	}
	return nil
}

// promLabel keeps a label value on one line; %q does the escaping of
// quotes and backslashes the exposition format wants.
func promLabel(s string) string { return strings.ReplaceAll(s, "\n", " ") }
