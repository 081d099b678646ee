package recommend

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// RuleResult is one stored assessment of a resource.
type RuleResult struct {
	Rule     string
	Title    string
	Status   model.AssessmentStatus
	Severity model.Severity
	Evidence []string
}

// State is a resource's status for one recommendation.
type State struct {
	Recommendation string
	// Status is what the pages show; Underlying is the status without
	// exemptions (an exempt resource is unhealthy underneath).
	Status      model.AssessmentStatus
	Underlying  model.AssessmentStatus
	Severity    model.Severity // worst unhealthy rule; the recommendation's when none
	ExemptionID string
	Evidence    []string
}

// maxEvidence bounds what one resource shows for one recommendation: a host
// failing 40 CIS controls lists them all, their own evidence trimmed.
const maxEvidence = 60

// rank orders statuses when a resource's rules for one recommendation
// disagree: anything unhealthy makes it unhealthy; rules it passes make it
// healthy even when others could not be judged (their evidence says so);
// otherwise the most telling of the rest.
var rank = map[model.AssessmentStatus]int{
	model.AssessUnhealthy:     7,
	model.AssessExempt:        6,
	model.AssessHealthy:       5,
	model.AssessError:         4,
	model.AssessNotAssessed:   3,
	model.AssessManual:        2,
	model.AssessNotApplicable: 1,
}

// Evaluate groups a resource's rule results by recommendation and applies
// the exemptions active at now. Results of rules outside the catalogue are
// left out (they stay visible as assessments).
func (c *Catalog) Evaluate(s Subject, results []RuleResult, exemptions []Exemption, now time.Time) []State {
	type acc struct {
		State
		lines  []string
		failed bool
	}
	by := map[string]*acc{}
	var order []string
	for _, r := range results {
		rec, ok := c.For(r.Rule)
		if !ok {
			continue
		}
		a := by[rec.ID]
		if a == nil {
			sev, _ := model.ParseSeverity(rec.Severity)
			a = &acc{State: State{Recommendation: rec.ID, Underlying: r.Status, Severity: sev}}
			by[rec.ID] = a
			order = append(order, rec.ID)
		}
		if rank[r.Status] > rank[a.Underlying] {
			a.Underlying = r.Status
		}
		switch r.Status {
		case model.AssessUnhealthy, model.AssessExempt:
			// The worst failed rule sets the severity; the catalogue's
			// stands until one fails.
			if !a.failed || r.Severity.Rank() > a.Severity.Rank() {
				a.Severity = r.Severity
			}
			a.failed = true
			a.lines = append(a.lines, line(r))
		case model.AssessError, model.AssessNotAssessed:
			a.lines = append(a.lines, line(r))
		}
	}
	sort.Strings(order)
	out := make([]State, 0, len(order))
	for _, id := range order {
		a := by[id]
		st := a.State
		// An engine's own exemption (a policy's exempt result) is unhealthy
		// underneath.
		if st.Underlying == model.AssessExempt {
			st.Underlying = model.AssessUnhealthy
			st.Status = model.AssessExempt
		} else {
			st.Status = st.Underlying
		}
		st.Evidence = keepOnly(a.lines, st.Underlying)
		if st.Underlying == model.AssessUnhealthy {
			for _, e := range exemptions {
				if e.Recommendation == id && e.Active(now) && e.Covers(s) {
					st.Status, st.ExemptionID = model.AssessExempt, e.ID
					break
				}
			}
		}
		out = append(out, st)
	}
	return out
}

func line(r RuleResult) string {
	l := r.Rule
	if r.Title != "" {
		l += " " + r.Title
	}
	if r.Status != model.AssessUnhealthy {
		l += " (" + string(r.Status) + ")"
	}
	if len(r.Evidence) > 0 {
		ev := strings.Join(r.Evidence, "; ")
		if len(ev) > 400 {
			ev = ev[:400] + "…"
		}
		l += ": " + ev
	}
	return l
}

// keepOnly bounds the lines that explain the status: the failed rules of
// an unhealthy resource, and the rules that could not be judged.
func keepOnly(lines []string, _ model.AssessmentStatus) []string {
	if len(lines) > maxEvidence {
		n := len(lines) - maxEvidence
		lines = append(lines[:maxEvidence:maxEvidence], fmt.Sprintf("… and %d more", n))
	}
	return lines
}
