package falco

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

func TestReaderGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/alerts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(Options{Input: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	if err := r.Run(context.Background(), func(e *event.Event) { evs = append(evs, e) }); err != nil {
		t.Fatal(err)
	}
	out := append(sourcetest.Render(t, evs...), fmt.Sprintf("stats: %+v\n", r.Stats())...)
	sourcetest.Golden(t, "testdata/golden/alerts.golden", out)
	if st := r.Stats(); st.Events != 4 || st.Malformed != 3 {
		t.Errorf("stats %+v, want 4 events and 3 malformed", st)
	}
	if len(evs) < 3 {
		t.Fatalf("%d events", len(evs))
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"shell container", evs[0].Container.ID, "3ad7b26ded6d"},
		{"shell image", evs[0].Container.Image, "docker.io/library/nginx:1.27"},
		{"shell pod", evs[0].Container.Namespace + "/" + evs[0].Container.Pod, "shop/web-7d9f"},
		{"shell tty", evs[0].Process.TTY, true},
		{"shell pid", evs[0].Process.PID, 31337},
		{"shell args", fmt.Sprint(evs[0].Process.Args), "[bash -il]"},
		{"fields are plain numbers", evs[0].Falco.Fields["proc.pid"], int64(31337)},
		{"miner dst", fmt.Sprintf("%s:%d", evs[1].Net.DstIP, evs[1].Net.DstPort), "198.51.100.7:3333"},
		{"miner privileged", evs[1].Container.Privileged, true},
		{"host event has no container", evs[2].Container == nil, true},
		{"uid as string", evs[2].Process.UID, 0},
		{"file", evs[2].File.Path + " " + evs[2].File.Op, "/etc/shadow openat"},
		{"time zone", evs[2].Time.UTC().Format(time.RFC3339Nano), "2026-11-26T12:33:22.5Z"},
		{"action is the rule", evs[3].Action, "Only a rule"},
		{"unknown uid", evs[3].Process == nil, true},
	}
	for _, tc := range tests {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestFollow follows a Falco output file (file_output) as it grows.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "falco.json")
	line := `{"rule":"R","priority":"Notice","output":"x"}` + "\n"
	if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(Options{Path: path, CheckpointPath: filepath.Join(dir, "pos"), Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *event.Event, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(e *event.Event) { got <- e }) }()
	<-got
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(line)
	f.Close()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("appended alert not read")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(Options{}); err == nil {
		t.Error("NewReader without input or path succeeded")
	}
}

func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile("testdata/alerts.jsonl")
	for _, l := range bytes.Split(data, []byte("\n")) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(bytes.Clone(b))
		if err == nil && (e.Falco == nil || e.Falco.Rule == "" || e.Kind != event.KindFalco) {
			t.Fatalf("accepted without rule: %q", b)
		}
	})
}
