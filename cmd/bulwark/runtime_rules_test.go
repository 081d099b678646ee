package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestRuntimeRulesTestAndList(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "ok.yaml"), `id: T_CLI
title: cli rule
severity: low
sources: [ebpf]
kinds: [process.exec]
condition: evt.process.name == "x"
tests:
  - {name: fires, fire: true, events: [{source: ebpf, kind: process.exec, process: {name: x, uid: 0, euid: 0}}]}
`)
	out, code := run(t, "runtime", "rules", "test", dir)
	if code != 0 || !strings.Contains(out, "T_CLI") || !strings.Contains(out, " 0 failed") {
		t.Fatalf("rules test: exit %d\n%s", code, out)
	}
	write(t, filepath.Join(dir, "bad.yaml"), `id: T_CLI_Fail
title: failing rule
severity: low
condition: evt.process.name == "x"
tests:
  - {name: wrongly expects a fire, fire: true, events: [{source: ebpf, kind: process.exec, process: {name: y, uid: 0, euid: 0}}]}
`)
	out, code = run(t, "runtime", "rules", "test", dir)
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, " 1 failed") {
		t.Fatalf("failing rule test: exit %d, want 1\n%s", code, out)
	}
	out, code = run(t, "runtime", "--rules", dir, "rules", "list", "--format", "json")
	if code != 0 {
		t.Fatalf("rules list: exit %d\n%s", code, out)
	}
	var rules []struct {
		ID   string `json:"id"`
		File string `json:"file"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &rules); err != nil {
		t.Fatalf("rules list json: %v\n%s", err, out)
	}
	found := map[string]bool{}
	for _, r := range rules {
		found[r.ID] = true
	}
	if !found["T_CLI"] || !found["K8S_PrivilegedContainer"] {
		t.Errorf("list lacks the user or built-in rules: %v", found)
	}
	write(t, filepath.Join(dir, "broken.yaml"), "id: T_Broken\ntitle: x\nseverity: low\ncondition: evt.nope\n")
	cmd := newRootCmd()
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"runtime", "--rules", dir, "rules", "list"})
	err := cmd.ExecuteContext(context.Background())
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "broken.yaml") || !strings.Contains(err.Error(), "T_Broken") {
		t.Errorf("broken rule: %v, want exit 1 naming the file and rule", err)
	}
}
