package memtrim

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const exe = "/usr/local/bin/bulwark"

func smaps(entries ...string) string { return strings.Join(entries, "") }

func mapping(header string, rss, anon int) string {
	return header + "\n" +
		"Size:               2048 kB\n" +
		"Rss:                " + strconv.Itoa(rss) + " kB\n" +
		"Pss:                " + strconv.Itoa(rss) + " kB\n" +
		"Anonymous:          " + strconv.Itoa(anon) + " kB\n" +
		"VmFlags: rd ex mr mw me dw sd\n"
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []Region
		skipped int
	}{
		{"code and read-only data", smaps(
			mapping("00400000-00800000 r-xp 00000000 fd:01 123 "+exe, 300, 0),
			mapping("00800000-00a00000 r--p 00400000 fd:01 123 "+exe, 120, 0)),
			[]Region{{0x400000, 0x800000, 300 << 10}, {0x800000, 0xa00000, 120 << 10}}, 0},
		{"writable data is never dropped", smaps(
			mapping("00a00000-00b00000 rw-p 00600000 fd:01 123 "+exe, 40, 40)), nil, 0},
		{"a page copied on write (a breakpoint) keeps the mapping", smaps(
			mapping("00400000-00800000 r-xp 00000000 fd:01 123 "+exe, 300, 4)), nil, 1},
		{"other files and anonymous memory", smaps(
			mapping("7f0000000000-7f0000100000 r-xp 00000000 fd:01 9 /usr/lib/x86_64-linux-gnu/libc.so.6", 800, 0),
			mapping("7f0000200000-7f0000300000 rw-p 00000000 00:00 0", 500, 500),
			mapping("00400000-00800000 r-xp 00000000 fd:01 124 "+exe+"2", 300, 0)), nil, 0},
		{"a shared mapping of the file", smaps(
			mapping("00400000-00800000 r--s 00000000 fd:01 123 "+exe, 300, 0)), nil, 0},
		{"the binary replaced on disk while running", smaps(
			mapping("00400000-00800000 r-xp 00000000 fd:01 123 "+exe+" (deleted)", 300, 0)),
			[]Region{{0x400000, 0x800000, 300 << 10}}, 0},
		{"a path with spaces", smaps(
			mapping("00400000-00800000 r-xp 00000000 fd:01 123 /opt/my tools/bulwark", 300, 0)), nil, 0},
		{"garbage lines are ignored", "not a mapping\nRss: 12 kB\n" + mapping("zz-00800000 r-xp 0 fd:01 1 "+exe, 1, 0) +
			mapping("00800000-00400000 r-xp 0 fd:01 1 "+exe, 1, 0), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped, err := Select(strings.NewReader(tc.in), exe)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || skipped != tc.skipped {
				t.Fatalf("Select = %+v, skipped %d; want %+v, skipped %d", got, skipped, tc.want, tc.skipped)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("region %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	got, _, _ := Select(strings.NewReader(mapping("00400000-00800000 r-xp 00000000 fd:01 123 /opt/my tools/bulwark", 300, 0)), "/opt/my tools/bulwark")
	if len(got) != 1 {
		t.Errorf("a path with spaces was not matched: %+v", got)
	}
}

func TestReleaserWaitsForQuiet(t *testing.T) {
	var n atomic.Int32
	r := NewReleaser(nil, 30*time.Millisecond, 300*time.Millisecond)
	r.release = func() (Stats, error) { n.Add(1); return Stats{}, nil }
	defer r.Stop()
	// A burst of calls closer than Quiet: one release, after the last.
	for range 5 {
		r.Soon()
		time.Sleep(10 * time.Millisecond)
	}
	if n.Load() != 0 {
		t.Fatalf("released during the burst (%d)", n.Load())
	}
	waitFor(t, func() bool { return n.Load() == 1 }, time.Second)
	// Another burst within Every waits for Every.
	start := time.Now()
	r.Soon()
	waitFor(t, func() bool { return n.Load() == 2 }, 2*time.Second)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("second release after %v, want it held until Every (300ms) since the first", d)
	}
	r.Stop()
	r.Soon()
	time.Sleep(100 * time.Millisecond)
	if n.Load() != 2 {
		t.Errorf("released after Stop")
	}
}

func TestReleaserBoundsANeverQuietStream(t *testing.T) {
	var n atomic.Int32
	r := NewReleaser(nil, 50*time.Millisecond, 150*time.Millisecond)
	r.release = func() (Stats, error) { n.Add(1); return Stats{}, nil }
	defer r.Stop()
	// Calls every 10 ms for 700 ms: never quiet for 50 ms.
	for end := time.Now().Add(700 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		r.Soon()
	}
	// Every 150 ms from the first waiting call: about 4; fewer than 2
	// means the stream held the release off.
	if got := n.Load(); got < 2 || got > 5 {
		t.Errorf("%d releases during a 700 ms stream with Every 150 ms, want 2 to 5", got)
	}
}

func waitFor(t *testing.T, ok func() bool, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("condition not met within %v", d)
}

func FuzzSelect(f *testing.F) {
	f.Add(mapping("00400000-00800000 r-xp 00000000 fd:01 123 "+exe, 300, 0), exe)
	f.Add(mapping("00400000-00800000 r--p 00000000 fd:01 123 "+exe+" (deleted)", 300, 4)+"Rss: x kB\n", exe)
	f.Add("-\n 1-2 r-xp\n0-0 r--p 0 0 0 \n", "")
	f.Fuzz(func(t *testing.T, in, path string) {
		regions, skipped, err := Select(strings.NewReader(in), path)
		if err != nil {
			return
		}
		if skipped < 0 {
			t.Fatal("negative skipped")
		}
		for _, r := range regions {
			if r.End < r.Start || r.Rss < 0 {
				t.Fatalf("bad region %+v", r)
			}
		}
	})
}
