package recommend

import (
	"testing"
	"time"
)

// FuzzParse: a catalogue that parses is consistent (every rule it names
// resolves to the entry that names it), and nothing panics.
func FuzzParse(f *testing.F) {
	f.Add(catalogYAML)
	f.Add([]byte("controls: [{id: a, title: A, max_points: 1}]\nrecommendations: [{id: REC-X, title: t, control: a, severity: high, description: d, remediation: [r], rules: [R], rule_prefixes: [P.]}]\n"))
	f.Add([]byte("controls: !!binary AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		for _, r := range c.Recommendations {
			for _, rule := range r.Rules {
				if got, ok := c.For(rule); !ok || got.ID != r.ID {
					t.Fatalf("rule %s of %s resolves to %v", rule, r.ID, got)
				}
			}
		}
		c.Evaluate(Subject{ResourceID: "x"}, []RuleResult{{Rule: "R", Status: "unhealthy"}}, nil, time.Now())
	})
}
