package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got []byte) { testenv.Golden(t, name, got, *update) }

// fixtures are alerts as the aggregator sends them: a full one, a minimal
// one, and one whose strings need escaping in every format.
func fixtures() []model.Alert {
	uid := 0
	full := model.Alert{
		Type:        "K8S.NODE_ReverseShell",
		Title:       "Potential reverse shell",
		Description: "A shell was started with its standard input or output bound to a network socket.",
		Severity:    model.SeverityMedium,
		Tactics:     []string{"Execution", "Command and Control"},
		Techniques:  []string{"T1059.004"},
		Resource: model.Resource{Kind: "container", ID: "3f1c9a0b2d4e", Name: "web-1", Parent: "node-a",
			Labels: map[string]string{"app": "web", "tier": "front"}},
		Actor:       &model.Actor{User: "root", Process: "/bin/bash", Command: "bash -i", PID: 4242, UID: &uid},
		FirstSeen:   time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600)),
		LastSeen:    time.Date(2026, 3, 1, 11, 4, 30, 123456789, time.UTC),
		Count:       7,
		Evidence:    []model.Evidence{{Time: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), Source: "ebpf", Summary: "bash -i (pid 4242) stdio on 10.0.0.9:4444", Raw: `{"exe":"/bin/bash"}`}},
		Properties:  map[string]string{"command": "bash -i", "exe": "/bin/bash"},
		Remediation: "Isolate the container.",
		Status:      model.AlertActive,
	}
	full.ID = AlertID(full.Type, full.Resource.ID, full.FirstSeen)
	minimal := model.Alert{
		Type: "K8S_PrivilegedContainer", Title: "Privileged container", Severity: model.SeverityHigh,
		Resource:  model.Resource{Kind: "workload", ID: "c1/default/Pod/p"},
		FirstSeen: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Count: 1, Status: model.AlertActive,
	}
	minimal.ID = AlertID(minimal.Type, minimal.Resource.ID, minimal.FirstSeen)
	odd := model.Alert{
		ID: "odd", Type: `X"]\`, Title: "line one\nline two <b>&</b> é", Severity: "unknown",
		Resource:  model.Resource{Kind: "host", ID: `h"o]s\t`},
		FirstSeen: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Count: 2, Status: model.AlertActive,
	}
	crit := minimal
	crit.ID, crit.Severity = "crit", model.SeverityCritical
	low := minimal
	low.ID, low.Severity = "low", model.SeverityLow
	info := minimal
	info.ID, info.Severity = "info", model.SeverityInfo
	return []model.Alert{full, minimal, odd, crit, low, info}
}

func TestJSONLinesGolden(t *testing.T) {
	var buf bytes.Buffer
	s := NewJSONLines(&buf)
	for _, a := range fixtures() {
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	golden(t, "alerts.jsonl.golden", buf.Bytes())
	// Every line is a document that reads back into the same alert.
	for i, line := range bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")) {
		var d document
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if d.SchemaVersion != model.SchemaVersion || d.ID != fixtures()[i].ID || d.Count != fixtures()[i].Count {
			t.Errorf("line %d reads back as %+v", i+1, d)
		}
	}
	if err := s.Send(context.Background(), fixtures()[0]); err == nil {
		t.Error("Send after Close succeeded")
	}
}

func TestSyslogGolden(t *testing.T) {
	h := syslogHeader{facility: SyslogFacilityLogAudit, hostname: "node a", appName: "bulwark", procID: "4242"}
	var buf bytes.Buffer
	for _, a := range fixtures() {
		buf.Write(formatSyslog(h, a))
		buf.WriteByte('\n')
	}
	golden(t, "syslog.golden", buf.Bytes())
}
