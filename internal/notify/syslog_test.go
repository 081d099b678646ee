package notify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// line5424 matches one RFC 5424 message with Bulwark's structured data.
var line5424 = regexp.MustCompile(`^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[bulwark@32473((?: [a-z_]+="(?:[^"\\\]]|\\.)*")*)\] (.*)$`)
var sdParam = regexp.MustCompile(`([a-z_]+)="((?:[^"\\\]]|\\.)*)"`)

type syslogLine struct {
	pri    int
	msgID  string
	params map[string]string
	msg    string
}

func parseLine(t *testing.T, s string) syslogLine {
	t.Helper()
	m := line5424.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("not an RFC 5424 message: %q", s)
	}
	if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
		t.Fatalf("timestamp %q: %v", m[2], err)
	}
	pri, _ := strconv.Atoi(m[1])
	l := syslogLine{pri: pri, msgID: m[6], params: map[string]string{}, msg: m[8]}
	for _, p := range sdParam.FindAllStringSubmatch(m[7], -1) {
		l.params[p[1]] = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\]`, `]`).Replace(p[2])
	}
	return l
}

func syslogEvents() []Event {
	a := ev(KindFinding, model.SeverityCritical, model.KindImage, "sys-1")
	a.Vulnerability, a.Rule, a.Detail = "CVE-2026-0001", "VULN-image", "openssl 3.0.1 → fixed in 3.0.2"
	b := ev(KindRecommendation, model.SeverityHigh, model.KindWorkload, "sys-2")
	b.Recommendation, b.Title = "REC-PRIV", "Privileged containers should be avoided\n] \"quoted\""
	c := ev(KindAlert, model.SeverityLow, model.KindContainer, "sys-3") // filtered: below high
	return []Event{a, b, c}
}

func checkSyslog(t *testing.T, got []string) {
	t.Helper()
	evs := syslogEvents()[:2]
	if len(got) != len(evs) {
		t.Fatalf("received %d messages, want %d: %q", len(got), len(evs), got)
	}
	for i, s := range got {
		l := parseLine(t, s)
		e := evs[i]
		wantPRI := map[model.Severity]int{model.SeverityCritical: 13*8 + 2, model.SeverityHigh: 13*8 + 3}[e.Severity]
		if l.pri != wantPRI || l.msgID != string(e.Kind) {
			t.Errorf("message %d: PRI %d MSGID %s, want %d %s", i, l.pri, l.msgID, wantPRI, e.Kind)
		}
		want := map[string]string{"id": e.ID, "kind": string(e.Kind), "severity": string(e.Severity),
			"resource": e.Resource.ID, "resource_kind": string(e.Resource.Kind), "resource_name": e.Resource.Name,
			"vulnerability": e.Vulnerability, "rule": e.Rule, "recommendation": e.Recommendation}
		for k, v := range want {
			if l.params[k] != v {
				t.Errorf("message %d: %s=%q, want %q", i, k, l.params[k], v)
			}
		}
		if !strings.HasPrefix(l.msg, strings.ReplaceAll(e.Title, "\n", " ")) || strings.ContainsAny(l.msg, "\n\r") {
			t.Errorf("message %d text %q", i, l.msg)
		}
	}
}

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d := start(t, t.TempDir(), "sinks: [{name: siem, type: syslog, address: udp://"+pc.LocalAddr().String()+", min_severity: high}]", Options{Hostname: "bulwark-test"})
	if err := d.Notify(context.Background(), syslogEvents()...); err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 65536)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 2 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	checkSyslog(t, got)
	waitFor(t, "counters", func() bool { return statsOf(d, "siem").Sent == 2 })
	if st := statsOf(d, "siem"); st.Filtered != 1 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSyslogTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	frames := make(chan string, 10)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for { // octet counting (RFC 6587): "LEN SP MSG"
			n, err := r.ReadString(' ')
			if err != nil {
				return
			}
			size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
			if err != nil {
				frames <- "bad frame length " + n
				return
			}
			b := make([]byte, size)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			frames <- string(b)
		}
	}()
	d := start(t, t.TempDir(), "sinks: [{name: siem, type: syslog, address: tcp://"+ln.Addr().String()+", min_severity: high}]", Options{})
	if err := d.Notify(context.Background(), syslogEvents()...); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		select {
		case f := <-frames:
			got = append(got, f)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d frames", len(got))
		}
	}
	checkSyslog(t, got)
}

// TestSyslogReceiverDown: nothing listens; New still succeeds, Notify
// returns at once, and the events count as failed.
func TestSyslogReceiverDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := start(t, t.TempDir(), "sinks: [{name: siem, type: syslog, address: tcp://"+addr+"}]", Options{})
	begin := time.Now()
	for i := range 50 {
		if err := d.Notify(context.Background(), ev(KindAlert, model.SeverityHigh, model.KindPod, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(begin); el > time.Second {
		t.Errorf("Notify took %v with the receiver down", el)
	}
	waitFor(t, "failures", func() bool { return statsOf(d, "siem").Failed == 50 })
	if st := statsOf(d, "siem"); st.Sent != 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSyslogBufferFull: a receiver that does not read fills the buffer;
// Notify still returns at once and the excess is dropped and counted.
func TestSyslogBufferFull(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // accepted, never read
		}
	}()
	d := start(t, t.TempDir(), "sinks: [{name: siem, type: syslog, address: tcp://"+ln.Addr().String()+"}]",
		Options{Buffer: 8, Timeout: 200 * time.Millisecond})
	big := ev(KindAlert, model.SeverityHigh, model.KindPod, "big")
	big.Detail = strings.Repeat("x", maxDetail)
	begin := time.Now()
	dropped := 0
	for range 2000 {
		if err := d.Notify(context.Background(), big); err != nil {
			dropped++
		}
	}
	if el := time.Since(begin); el > 2*time.Second {
		t.Errorf("2000 Notify calls took %v against a stalled receiver", el)
	}
	if dropped == 0 || statsOf(d, "siem").Dropped != int64(dropped) {
		t.Errorf("%d Notify errors, stats %+v: want the overflow dropped and counted", dropped, statsOf(d, "siem"))
	}
	d.Close()
}
