package alert

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// seedRecords are queue files as they are found on disk: whole, truncated by
// a crash, damaged, or not ours.
func seedRecords() map[string][]byte {
	good := encodeRecord([]byte(`{"schema_version":"1","id":"s2","type":"T"}`))
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-3] ^= 0x20
	badLen := append([]byte(nil), good...)
	badLen[7]++
	return map[string][]byte{
		"good":          good,
		"truncated":     good[:len(good)-4],
		"header-only":   good[:recordHeader],
		"short-header":  good[:7],
		"flipped-bit":   flipped,
		"wrong-length":  badLen,
		"trailing-data": append(append([]byte(nil), good...), "junk"...),
		"not-json":      encodeRecord([]byte(`{"id":`)),
		"wrong-magic":   append([]byte("BWQ0"), good[4:]...),
		"empty":         {},
	}
}

func TestWriteQueueFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzQueueLoad")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzQueueLoad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seedRecords() {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDecodeRecord(t *testing.T) {
	for name, data := range seedRecords() {
		_, err := decodeRecord(data)
		if (err == nil) != (name == "good") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// FuzzQueueLoad puts one arbitrary file between two good ones in a queue
// directory and loads it: the good entries always come out, in order; the
// arbitrary one comes out only if it is a whole record, else it is counted
// as damaged.
func FuzzQueueLoad(f *testing.F) {
	for _, d := range seedRecords() {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		write := func(seq uint64, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, queueName(seq)), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(1, encodeRecord([]byte(`"first"`)))
		write(2, data)
		write(3, encodeRecord([]byte(`"third"`)))
		payload, decErr := decodeRecord(data)
		if decErr == nil && string(encodeRecord(payload)) != string(data) {
			t.Fatalf("record decodes but does not re-encode to the same bytes")
		}
		q, err := openQueue(dir, 1<<30, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			seq, p, ok := q.head()
			if !ok {
				break
			}
			got = append(got, string(p))
			if err := q.remove(seq); err != nil {
				t.Fatal(err)
			}
		}
		want := []string{`"first"`, `"third"`}
		if decErr == nil {
			want = []string{`"first"`, string(payload), `"third"`}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("loaded %q, want %q", got, want)
		}
		if _, _, _, corrupt := q.stats(); (corrupt == 1) != (decErr != nil) {
			t.Fatalf("corrupt count %d for decode error %v", corrupt, decErr)
		}
	})
}
