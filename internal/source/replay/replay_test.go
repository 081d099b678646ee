package replay

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

// TestRead replays a mixed recording with a huge line in the middle:
// every format is recognised, bad lines are counted with their number and
// the lines after them still read.
func TestRead(t *testing.T) {
	data, err := os.ReadFile("testdata/mixed.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	huge := `{"kind":"Event","auditID":"` + strings.Repeat("h", 5<<20) + "\"}\n"
	input := strings.Join(lines[:3], "") + huge + strings.Join(lines[3:], "")

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var evs []*event.Event
	st, err := Read(context.Background(), strings.NewReader(input), func(e *event.Event) { evs = append(evs, e) },
		Options{Cluster: "prod", Host: "node-1", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var summary strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&summary, "%s %s %s cluster=%q host=%q\n", e.Source, e.Kind, e.Action, e.Cluster, e.Host)
	}
	fmt.Fprintf(&summary, "stats: %+v\n", st)
	sourcetest.Golden(t, "testdata/golden/mixed.golden", []byte(summary.String()))
	if st.Events != 7 || st.Malformed != 7 || st.Filtered != 2 {
		t.Errorf("stats %+v, want 7 events, 7 malformed, 2 filtered", st)
	}
	// Line numbers count the huge line: "not a known format" is line 14.
	if !strings.Contains(logs.String(), "line=14") {
		t.Errorf("malformed lines not logged with their number:\n%s", logs.String())
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		line string
		want Format
	}{
		{`{"kind":"Event","apiVersion":"audit.k8s.io/v1"}`, FormatK8sAudit},
		{`{"apiVersion":"audit.k8s.io/v1","kind":"Event"}`, FormatK8sAudit},
		{`{"auditID":"x"}`, FormatK8sAudit},
		{`{"kind":"EventList","items":[]}`, FormatK8sAuditList},
		{`{ "items":[], "kind" : "EventList" }`, FormatK8sAuditList},
		{`{"output":"o","priority":"Warning","rule":"r","source":"syscall"}`, FormatFalco},
		{`{"time":"2026-01-01T00:00:00Z","source":"falco","kind":"falco","falco":{"rule":"r","priority":"p"}}`, FormatEvent},
		{`type=EOE msg=audit(1.0:1): `, FormatAuditd},
		{`node=a type=EOE msg=audit(1.0:1): `, FormatAuditd},
		{`{"a":1}`, FormatUnknown},
		{`{"a":`, FormatUnknown},
		{`hello`, FormatUnknown},
	}
	for _, tc := range tests {
		got, err := Detect([]byte(tc.line))
		if got != tc.want || (err != nil) != (tc.want == FormatUnknown) {
			t.Errorf("Detect(%s) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	data, _ := os.ReadFile("testdata/mixed.log")
	f.Add(data)
	for _, l := range bytes.Split(data, []byte("\n")) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		emitted := uint64(0)
		st, err := Read(context.Background(), bytes.NewReader(b), func(e *event.Event) {
			emitted++
			if e.Source == "" || e.Kind == "" {
				t.Fatalf("event without source or kind: %+v", e)
			}
		}, Options{MaxLine: 1 << 16})
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != emitted {
			t.Fatalf("stats say %d events, %d emitted", st.Events, emitted)
		}
	})
}

// BenchmarkRead replays a recorded API-server audit log (JSON lines, a
// realistic mix: pod create with objects, secret read, exec,
// clusterrolebinding) from memory: the cost per event of recognising and
// parsing, the part of `bulwark runtime replay` before the rules.
func BenchmarkRead(b *testing.B) {
	var lines [][]byte
	for _, name := range []string{"create-privileged-pod", "get-secret-forbidden", "exec-into-pod", "impersonated-clusterrolebinding"} {
		data, err := os.ReadFile("../k8saudit/testdata/events/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, bytes.TrimSpace(data))
	}
	var log bytes.Buffer
	const n = 10000
	for i := range n {
		log.Write(lines[i%len(lines)])
		log.WriteByte('\n')
	}
	data := log.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := sourcetest.StartThreadCPU(b)
	for b.Loop() {
		st, err := Read(context.Background(), bytes.NewReader(data), func(*event.Event) {}, Options{})
		if err != nil || st.Events != n {
			b.Fatal(st, err)
		}
	}
	cpu.Stop(n, "event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

func TestLeadingKind(t *testing.T) {
	tests := map[string]string{
		`{"kind":"Event","a":1}`:             "Event",
		"{ \"kind\" :\t\"EventList\" ,":      "EventList",
		`{"kind":"Ev\"ent",`:                 "",
		`{"kind":"Event"}`:                   "", // no other key: not worth a fast path
		`{"apiVersion":"v1","kind":"Event"}`: "",
		`{"kind":5,`:                         "",
		``:                                   "",
	}
	for in, want := range tests {
		if got := leadingKind([]byte(in)); got != want {
			t.Errorf("leadingKind(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestLineBlocks: copies share blocks but stay independent of the reused
// input buffer and of each other, also when a user appends to one.
func TestLineBlocks(t *testing.T) {
	var lb lineBlocks
	buf := []byte("first line")
	a := lb.clone(buf)
	copy(buf, "XXXXXXXXXX") // the reader reuses its buffer
	b := lb.clone([]byte("second"))
	_ = append(a, "!!!"...)                      // must not run into b
	big := lb.clone(make([]byte, lineBlockSize)) // a line larger than a block
	tests := []struct{ got, want string }{
		{string(a), "first line"},
		{string(b), "second"},
		{fmt.Sprint(len(big)), fmt.Sprint(lineBlockSize)},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: got %q, want %q", i, tc.got, tc.want)
		}
	}
}
