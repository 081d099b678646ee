package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	sigsjson "sigs.k8s.io/json"

	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test events: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Parse(b)
			var got []byte
			switch {
			case errors.Is(err, ErrFiltered):
				got = []byte("filtered\n")
			case err != nil:
				got = []byte("error: " + err.Error() + "\n")
			default:
				got = sourcetest.Render(t, e)
			}
			// The name says what is expected, so a golden cannot silently
			// accept the wrong outcome.
			switch {
			case strings.HasSuffix(name, "-filtered") != errors.Is(err, ErrFiltered):
				t.Errorf("filtered = %v", errors.Is(err, ErrFiltered))
			case strings.HasSuffix(name, "-malformed") != (err != nil && !errors.Is(err, ErrFiltered)):
				t.Errorf("malformed: err = %v", err)
			}
			sourcetest.Golden(t, filepath.Join("testdata", "golden", name+".golden"), got)
		})
	}
}

func TestParseList(t *testing.T) {
	b, err := os.ReadFile("testdata/eventlist.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, res, err := ParseListDetail(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || res.Filtered != 1 || len(res.Malformed) != 1 {
		t.Fatalf("events=%d filtered=%d malformed=%v, want 2, 1, 1", len(evs), res.Filtered, res.Malformed)
	}
	sourcetest.Golden(t, "testdata/golden/eventlist.golden", sourcetest.Render(t, evs...))

	evs2, err := ParseList(b)
	if len(evs2) != 2 || err == nil || !strings.Contains(err.Error(), "item 3") {
		t.Errorf("ParseList = %d events, %v; want 2 and an error naming item 3", len(evs2), err)
	}

	for _, bad := range []string{``, `[]`, `{"kind":"Event"}`, `{"kind":"EventList","items":{}}`, `{"kind":"EventList","items":[`} {
		if _, _, err := ParseListDetail([]byte(bad)); err == nil {
			t.Errorf("ParseListDetail(%q) succeeded", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(bytes.Clone(b))
		if err == nil && (e == nil || e.K8s == nil || e.K8s.AuditID == "" || e.K8s.Verb == "") {
			t.Fatalf("Parse accepted %q without audit id and verb", b)
		}
		if e != nil {
			e.K8s.Object() // decoding the kept raw objects must not panic either
		}
		evs, res, err := ParseListDetail(bytes.Clone(b))
		if err == nil && len(evs)+res.Filtered+len(res.Malformed) < len(evs) {
			t.Fatal("impossible counts")
		}
	})
}

// BenchmarkParse decodes realistic events: a RequestResponse pod create
// with its objects (4 KiB), a Metadata secret read, an exec.
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"create-privileged-pod", "get-secret-forbidden", "exec-into-pod"} {
		data, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu := sourcetest.StartThreadCPU(b)
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Stop(1, "")
		})
	}
}

// BenchmarkParser is BenchmarkParse through one Parser, as replay and the
// tailer use it: the recurring strings come from its table.
func BenchmarkParser(b *testing.B) {
	for _, name := range []string{"create-privileged-pod", "get-secret-forbidden", "exec-into-pod"} {
		data, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			p := NewParser()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu := sourcetest.StartThreadCPU(b)
			for b.Loop() {
				if _, err := p.Parse(data); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Stop(1, "")
		})
	}
}

// BenchmarkParseList is one webhook batch of 100 mixed events.
func BenchmarkParseList(b *testing.B) {
	var items []string
	for _, name := range []string{"create-privileged-pod", "get-secret-forbidden", "exec-into-pod", "impersonated-clusterrolebinding"} {
		data, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, strings.TrimSpace(string(data)))
	}
	var body strings.Builder
	body.WriteString(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`)
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(items[i%len(items)])
	}
	body.WriteString("]}")
	data := []byte(body.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := sourcetest.StartThreadCPU(b)
	for b.Loop() {
		evs, _, err := ParseListDetail(data)
		if err != nil || len(evs) != 100 {
			b.Fatal(fmt.Sprint(len(evs), err))
		}
	}
	cpu.Stop(100, "event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}

// FuzzDecodeDifferential checks the hand-written decoder against
// sigs.k8s.io/json, the case-sensitive encoding/json the API server uses:
// both accept the same inputs and produce the same fields.
func FuzzDecodeDifferential(f *testing.F) {
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"verb":"get","verb":null,"sourceIPs":["a",null],"annotations":{"a":"b","a":null},"responseStatus":{"code":1},"responseStatus":{"x":[1,2.5e-3,true]}}`))
	f.Add([]byte(`{"v\u0065rb":"\u00e9\ud800x","user":{"username":"\xff"},"requestObject":null,"objectRef":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var mine, ref auditEvent
		errMine := decodeEvent(b, &mine, nil)
		errRef := sigsjson.UnmarshalCaseSensitivePreserveInts(b, &ref)
		if (errMine == nil) != (errRef == nil) {
			t.Fatalf("input %q: decoder err %v, reference err %v", b, errMine, errRef)
		}
		if errMine != nil {
			return
		}
		settleTimestamps(&mine)
		for _, a := range []*auditEvent{&mine, &ref} {
			for _, r := range []*json.RawMessage{&a.RequestObject, &a.ResponseObject} {
				if string(*r) == "null" {
					*r = nil // the reference keeps null as the literal
				}
				if len(*r) == 0 {
					*r = nil
				}
			}
		}
		if !reflect.DeepEqual(mine, ref) {
			t.Fatalf("input %q:\n decoder   %+v\n reference %+v", b, mine, ref)
		}
		// The Parser's string table must not change what is decoded.
		var cached auditEvent
		strs := newStrCache()
		for range 2 {
			cached = auditEvent{}
			if err := decodeEvent(b, &cached, strs); err != nil {
				t.Fatalf("input %q: with a string table: %v", b, err)
			}
		}
		settleTimestamps(&cached)
		for _, r := range []*json.RawMessage{&cached.RequestObject, &cached.ResponseObject} {
			if len(*r) == 0 || string(*r) == "null" {
				*r = nil
			}
		}
		if !reflect.DeepEqual(mine, cached) {
			t.Fatalf("input %q:\n decoder      %+v\n with a table %+v", b, mine, cached)
		}
	})
}

// settleTimestamps moves timestamps kept raw into their string fields, as
// the reference decoder fills them.
func settleTimestamps(a *auditEvent) {
	if a.requestReceivedRaw != nil {
		a.RequestReceived, a.requestReceivedRaw = string(a.requestReceivedRaw), nil
	}
	if a.stageTimestampRaw != nil {
		a.StageTimestamp, a.stageTimestampRaw = string(a.stageTimestampRaw), nil
	}
}

// FuzzParseTimeFast: the allocation-free timestamp parser accepts only
// what time.Parse accepts, with the same result.
func FuzzParseTimeFast(f *testing.F) {
	for _, s := range []string{"2026-11-20T08:00:00.000516Z", "2026-11-20T08:00:00Z", "2024-02-29T23:59:59.123456789Z",
		"2025-02-29T00:00:00Z", "2026-11-20T08:00:00,5Z", "2026-11-20T24:00:00Z", "2026-11-20T08:00:00.1234567891Z",
		"2026-13-01T00:00:00Z", "2026-11-20T08:00:00+01:00", "2026-1a-20T08:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimeFast([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok && (err != nil || !got.Equal(want) || got.Location() != want.Location()) {
			t.Fatalf("parseTimeFast(%q) = %v; time.Parse %v, %v", s, got, want, err)
		}
	})
}

// BenchmarkDecodeStd is encoding/json into the same struct, the baseline
// the hand-written decoder is measured against.
func BenchmarkDecodeStd(b *testing.B) {
	for _, name := range []string{"create-privileged-pod", "get-secret-forbidden", "exec-into-pod"} {
		data, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu := sourcetest.StartThreadCPU(b)
			for b.Loop() {
				var a auditEvent
				if err := json.Unmarshal(data, &a); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Stop(1, "")
		})
	}
}
