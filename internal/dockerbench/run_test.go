package dockerbench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bulwarkdev/bulwark/internal/junit"
)

// TestRegistryComplete: every CIS Docker Benchmark v1.6.0 control is
// registered exactly once, with its level and automated flag as the
// benchmark gives them.
func TestRegistryComplete(t *testing.T) {
	cs := Controls()
	perSection := map[string]int{}
	auto := 0
	for _, c := range cs {
		perSection[strings.SplitN(c.ID, ".", 2)[0]]++
		if c.Automated {
			auto++
		}
	}
	want := map[string]int{"1": 20, "2": 18, "3": 24, "4": 12, "5": 32, "6": 2, "7": 9}
	for s, n := range want {
		if perSection[s] != n {
			t.Errorf("section %s: %d controls, want %d", s, perSection[s], n)
		}
	}
	if len(cs) != 117 {
		t.Errorf("%d controls, want 117", len(cs))
	}
	// docker-bench marks 90 automated and 27 manual.
	if auto != 90 {
		t.Errorf("%d automated controls, want 90", auto)
	}
	level2 := map[string]bool{"2.9": true, "2.10": true, "2.11": true, "2.12": true, "2.13": true, "2.17": true, "4.5": true, "4.8": true, "4.11": true, "5.3": true, "5.23": true, "5.24": true, "5.30": true}
	for i := 7; i <= 18; i++ {
		level2["1.1."+strconv.Itoa(i)] = true
	}
	for i := 17; i <= 22; i++ {
		level2["3."+strconv.Itoa(i)] = true
	}
	for _, c := range cs {
		if want := map[bool]int{true: 2, false: 1}[level2[c.ID]]; c.Level != want {
			t.Errorf("control %s: level %d, want %d", c.ID, c.Level, want)
		}
	}
}

func TestFilter(t *testing.T) {
	c := func(id string, level int) Control { return Control{ID: id, Level: level} }
	tests := []struct {
		f    Filter
		c    Control
		keep bool
	}{
		{Filter{}, c("5.4", 1), true},
		{Filter{Checks: []string{"2", "5.4"}}, c("5.4", 1), true},
		{Filter{Checks: []string{"2", "5.4"}}, c("5.41", 1), false},
		{Filter{Checks: []string{"2", "5.4"}}, c("2.13", 2), true},
		{Filter{Checks: []string{"1.1"}}, c("1.1.12", 2), true},
		{Filter{Checks: []string{"1.1"}}, c("1.2.1", 1), false},
		{Filter{Exclude: []string{"4.5"}}, c("4.5", 2), false},
		{Filter{Level: 1}, c("2.9", 2), false},
		{Filter{Level: 2}, c("2.9", 2), true},
	}
	for _, tc := range tests {
		if got := tc.f.keep(tc.c); got != tc.keep {
			t.Errorf("%+v keep(%s) = %v, want %v", tc.f, tc.c.ID, got, tc.keep)
		}
	}
}

func TestEvaluateGuards(t *testing.T) {
	s := &Snapshot{Errors: map[string]string{SourceEngine: "cannot reach the Docker engine"}}
	r := evaluate(Control{ID: "9.9", Needs: []string{SourceEngine}, Check: func(*Snapshot) Result { return Result{Status: Pass} }}, s)
	if r.Status != Error || !strings.Contains(r.Evidence[0], "cannot reach") {
		t.Errorf("missing source: %+v", r)
	}
	r = evaluate(Control{ID: "9.8", Check: func(*Snapshot) Result { panic("boom") }}, s)
	if r.Status != Error || !strings.Contains(r.Evidence[0], "boom") {
		t.Errorf("panicking check: %+v", r)
	}
	r = evaluate(Control{ID: "9.7", Check: func(*Snapshot) Result { return Result{} }}, s)
	if r.Status != Error {
		t.Errorf("empty status: %+v", r)
	}
}

func sampleReport() *Report {
	return &Report{SchemaVersion: "1", Benchmark: "CIS Docker Benchmark v1.6.0", GeneratedAt: time.Unix(1700000000, 0).UTC(),
		Host: HostSummary{Name: "node-1", DockerVersion: "28.2.2", APIVersion: "1.50", Images: 3, Containers: 2, ContainersRunning: 1},
		Results: []Outcome{
			{ID: "2.2", Title: "Ensure network traffic is restricted between containers on the default bridge", Section: "Docker Daemon Configuration", Level: 1, Automated: true, Status: Fail, Evidence: []string{`/etc/docker/daemon.json: "icc" not set (default true)`}, Remediation: "Set icc to false."},
			{ID: "5.5", Title: "Ensure privileged containers are not used", Section: "Container Runtime", Level: 1, Automated: true, Status: Fail, Evidence: []string{"container web-1: HostConfig.Privileged=true"}, Remediation: "Drop --privileged."},
			{ID: "5.11", Title: "Ensure that the memory usage for containers is limited", Section: "Container Runtime", Level: 1, Automated: true, Status: Pass, Remediation: "Set --memory."},
			{ID: "1.2.2", Title: "Ensure that the version of Docker is up to date", Section: "Host Configuration", Level: 1, Status: Info, Evidence: []string{"running 28.2.2"}, Remediation: "Upgrade."},
			{ID: "7.1", Title: "Ensure that the minimum number of manager nodes have been created in a swarm", Section: "Docker Swarm Configuration", Level: 1, Automated: true, Status: NotApplicable, Remediation: "n/a"},
		}}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "junit", sampleReport(), "test"); err != nil {
		t.Fatal(err)
	}
	var got junit.Suites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("junit is not XML: %v\n%s", err, buf.String())
	}
	if got.Tests != 5 || got.Fails != 2 || got.Skipped != 2 {
		t.Errorf("tests=%d failures=%d skipped=%d, want 5/2/2", got.Tests, got.Fails, got.Skipped)
	}
	found := false
	for _, s := range got.Suites {
		for _, c := range s.Cases {
			if c.Name == "5.5 Ensure privileged containers are not used" {
				found = c.Failure != nil && strings.Contains(c.Failure.Text, "container web-1: HostConfig.Privileged=true")
			}
		}
	}
	if !found {
		t.Errorf("testcase '5.5 …' with the evidence as failure text missing:\n%s", buf.String())
	}
}

func TestSARIFValidates(t *testing.T) {
	schemaPath := filepath.Join("..", "report", "testdata", "schemas", "sarif-schema-2.1.0.json")
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("SARIF schema: %v", err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "sarif", sampleReport(), "test"); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("SARIF does not validate: %v", err)
	}
	var parsed struct {
		Runs []struct {
			Results []struct{ RuleID, Level string }
		}
	}
	json.Unmarshal(buf.Bytes(), &parsed)
	if len(parsed.Runs[0].Results) != 2 || parsed.Runs[0].Results[0].Level != "error" {
		t.Errorf("results %+v, want the two failures as errors", parsed.Runs[0].Results)
	}
}

func TestTableAndJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "table", sampleReport(), "test"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Docker 28.2.2", "Images: 3", "FAIL           5.5", "container web-1: HostConfig.Privileged=true", "Score:"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := Write(&buf, "json", sampleReport(), "test"); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Results) != 5 || back.Host.Images != 3 {
		t.Errorf("json round trip: %v %+v", err, back.Host)
	}
	if err := Write(&buf, "xml", sampleReport(), "test"); err == nil {
		t.Error("unknown format accepted")
	}
}
