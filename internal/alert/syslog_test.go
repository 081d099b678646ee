package alert

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rfc5424 is a received message, parsed strictly enough that a malformed
// one fails the test.
type rfc5424 struct {
	pri                                 int
	timestamp, host, app, procID, msgID string
	sdID                                string
	params                              map[string]string
	msg                                 string
}

func parse5424(s string) (rfc5424, error) {
	var m rfc5424
	if !strings.HasPrefix(s, "<") {
		return m, errors.New("no PRI")
	}
	end := strings.IndexByte(s, '>')
	pri, err := strconv.Atoi(s[1:max(end, 1)])
	if end < 0 || err != nil || pri > 191 {
		return m, fmt.Errorf("bad PRI in %q", s)
	}
	m.pri = pri
	f := strings.SplitN(s[end+1:], " ", 7)
	if len(f) != 7 || f[0] != "1" {
		return m, fmt.Errorf("bad header in %q", s)
	}
	if _, err := time.Parse(time.RFC3339Nano, f[1]); err != nil {
		return m, fmt.Errorf("timestamp: %w", err)
	}
	m.timestamp, m.host, m.app, m.procID, m.msgID = f[1], f[2], f[3], f[4], f[5]
	rest := f[6]
	if !strings.HasPrefix(rest, "[") {
		return m, fmt.Errorf("no structured data in %q", rest)
	}
	i := 1
	for i < len(rest) && rest[i] != ' ' && rest[i] != ']' {
		i++
	}
	m.sdID = rest[1:i]
	m.params = map[string]string{}
	for i < len(rest) && rest[i] == ' ' {
		i++
		eq := strings.IndexByte(rest[i:], '=')
		if eq < 0 || i+eq+1 >= len(rest) || rest[i+eq+1] != '"' {
			return m, fmt.Errorf("bad SD-PARAM at %q", rest[i:])
		}
		name := rest[i : i+eq]
		i += eq + 2
		var v strings.Builder
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) && strings.IndexByte(`"\]`, rest[i+1]) >= 0 {
				i++
			} else if rest[i] == ']' {
				return m, fmt.Errorf("unescaped ] in %s", name)
			}
			v.WriteByte(rest[i])
		}
		if i >= len(rest) {
			return m, errors.New("unterminated PARAM-VALUE")
		}
		m.params[name] = v.String()
		i++
	}
	if i >= len(rest) || rest[i] != ']' || !strings.HasPrefix(rest[i+1:], " ") {
		return m, fmt.Errorf("bad SD end at %q", rest[i:])
	}
	m.msg = rest[i+2:]
	return m, nil
}

func checkReceived(t *testing.T, got []string) {
	t.Helper()
	fx := fixtures()
	if len(got) != len(fx) {
		t.Fatalf("received %d messages, want %d", len(got), len(fx))
	}
	wantPRI := map[string]int{"medium": 13*8 + 4, "high": 13*8 + 3, "critical": 13*8 + 2, "low": 13*8 + 5, "info": 13*8 + 6, "unknown": 13*8 + 5}
	for i, s := range got {
		m, err := parse5424(s)
		if err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, s)
		}
		a := fx[i]
		if m.pri != wantPRI[string(a.Severity)] {
			t.Errorf("message %d: PRI %d for %s", i, m.pri, a.Severity)
		}
		if m.app != "bulwark-test" || m.host != "node-a" || m.msgID != "alert" || m.sdID != sdID {
			t.Errorf("message %d header: %+v", i, m)
		}
		if m.params["type"] != a.Type || m.params["resource"] != a.Resource.ID || m.params["count"] != strconv.Itoa(a.Count) || m.params["id"] != a.ID {
			t.Errorf("message %d structured data %v, want type %q resource %q count %d", i, m.params, a.Type, a.Resource.ID, a.Count)
		}
		if want := strings.ReplaceAll(a.Title, "\n", " "); m.msg != want {
			t.Errorf("message %d text %q, want %q", i, m.msg, want)
		}
	}
}

func sendFixtures(t *testing.T, s *Syslog) {
	t.Helper()
	for _, a := range fixtures() {
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSyslogDatagram: one message per datagram, over UDP and a unix
// datagram socket (as /dev/log is).
func TestSyslogDatagram(t *testing.T) {
	for _, tc := range []struct{ name, listenNet, network string }{
		{"udp", "udp", "udp"},
		{"unixgram", "unixgram", "unix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if tc.listenNet == "unixgram" {
				addr = filepath.Join(t.TempDir(), "log")
			}
			pc, err := net.ListenPacket(tc.listenNet, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			s, err := NewSyslog(SyslogOptions{Network: tc.network, Addr: pc.LocalAddr().String(), Tag: "bulwark-test", Hostname: "node-a"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sendFixtures(t, s)
			var got []string
			buf := make([]byte, 65536)
			_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
			for range fixtures() {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(buf[:n]))
			}
			checkReceived(t, got)
		})
	}
}

// readFrames reads RFC 6587 octet-counted frames from one connection.
func readFrames(r *bufio.Reader, n int) ([]string, error) {
	var out []string
	for range n {
		l, err := r.ReadString(' ')
		if err != nil {
			return out, err
		}
		size, err := strconv.Atoi(strings.TrimSuffix(l, " "))
		if err != nil || size <= 0 {
			return out, fmt.Errorf("bad frame length %q", l)
		}
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return out, err
		}
		out = append(out, string(b))
	}
	return out, nil
}

func TestSyslogTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	s, err := NewSyslog(SyslogOptions{Network: "tcp", Addr: ln.Addr().String(), Tag: "bulwark-test", Hostname: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sendFixtures(t, s)
	c := <-conns
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := readFrames(bufio.NewReader(c), len(fixtures()))
	if err != nil {
		t.Fatal(err)
	}
	checkReceived(t, got)

	// The receiver drops the connection: the sink redials and goes on.
	c.Close()
	var c2 net.Conn
	for i := 0; c2 == nil; i++ {
		if i == 50 {
			t.Fatal("the sink did not reconnect")
		}
		// Writes to a peer-closed socket can succeed once before the
		// reset is seen, so keep sending until the new connection arrives.
		if err := s.Send(context.Background(), fixtures()[0]); err != nil {
			t.Fatal(err)
		}
		select {
		case c2 = <-conns:
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer c2.Close()
	_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	more, err := readFrames(bufio.NewReader(c2), 1)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := parse5424(more[0]); err != nil || m.params["id"] != fixtures()[0].ID {
		t.Errorf("after reconnect: %v %+v", err, m)
	}
}

func TestSyslogOptions(t *testing.T) {
	for _, o := range []SyslogOptions{
		{Network: "tls", Addr: "127.0.0.1:1"},
		{Network: "udp", Addr: "127.0.0.1:1", Facility: 24},
		{Network: "tcp", Addr: "127.0.0.1:1"}, // nothing listens on port 1
	} {
		if s, err := NewSyslog(o); err == nil {
			s.Close()
			t.Errorf("NewSyslog(%+v) succeeded", o)
		}
	}
}
