package alert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// SyslogOptions configure the syslog output.
type SyslogOptions struct {
	Network  string // "udp", "tcp" or "unix" (a datagram socket such as /dev/log, else a stream)
	Addr     string // host:port, or the socket path for unix
	Tag      string // APP-NAME; default "bulwark"
	Facility int    // 0–23; default 13 (log audit)
	Hostname string // HOSTNAME; default os.Hostname()
	Timeout  time.Duration
}

// SyslogFacilityLogAudit is RFC 5424's facility 13, "log audit".
const SyslogFacilityLogAudit = 13

// sdID names Bulwark's structured-data element. 32473 is the private
// enterprise number RFC 5612 reserves for documentation; it keeps the
// element well-formed until Bulwark has its own.
const sdID = "bulwark@32473"

// maxDatagram keeps a UDP message under what every receiver accepts
// (RFC 5426 asks for 2048 at least; most take 8 KiB).
const maxDatagram = 8192

// syslogSeverity maps alert severity to RFC 5424 severity codes.
var syslogSeverity = map[model.Severity]int{
	model.SeverityCritical: 2, // crit
	model.SeverityHigh:     3, // err
	model.SeverityMedium:   4, // warning
	model.SeverityLow:      5, // notice
	model.SeverityInfo:     6, // info
}

type syslogHeader struct {
	facility int
	hostname string
	appName  string
	procID   string
}

// SyslogMessage is one RFC 5424 message before framing: what Send builds
// from an alert, and what outputs that are not alerts (internal/notify)
// build from their own records, so every Bulwark syslog line shares one
// header, one structured-data element and one escaping.
type SyslogMessage struct {
	Time     time.Time      // TIMESTAMP; zero means now
	Severity model.Severity // mapped to the RFC 5424 severity code
	MsgID    string         // MSGID: "alert", "finding", …
	Params   []SDParam      // in Bulwark's element, in order; empty values left out
	Text     string         // MSG; line breaks become spaces
}

// SDParam is one PARAM-NAME="PARAM-VALUE" of the structured data.
type SDParam struct{ Name, Value string }

// alertMessage is the message of one alert.
func alertMessage(a model.Alert) SyslogMessage {
	return SyslogMessage{
		Time: a.LastSeen, Severity: a.Severity, MsgID: "alert", Text: a.Title,
		Params: []SDParam{
			{"id", a.ID},
			{"type", a.Type},
			{"severity", string(a.Severity)},
			{"resource", a.Resource.ID},
			{"resource_kind", string(a.Resource.Kind)},
			{"resource_name", a.Resource.Name},
			{"count", strconv.Itoa(a.Count)},
			{"first_seen", a.FirstSeen.UTC().Format(time.RFC3339Nano)},
			{"last_seen", a.LastSeen.UTC().Format(time.RFC3339Nano)},
			{"status", string(a.Status)},
		},
	}
}

// formatSyslog renders one alert's RFC 5424 message (without transport framing).
func formatSyslog(h syslogHeader, a model.Alert) []byte { return formatMessage(h, alertMessage(a)) }

// formatMessage renders one RFC 5424 message (without transport framing).
func formatMessage(h syslogHeader, m SyslogMessage) []byte {
	sev, ok := syslogSeverity[m.Severity]
	if !ok {
		sev = 5 // unknown severity: notice, so it is still seen
	}
	ts := m.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s ",
		h.facility*8+sev,
		ts.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		headerField(h.hostname, 255), headerField(h.appName, 48), headerField(h.procID, 128), headerField(m.MsgID, 32))
	b.WriteString("[" + sdID)
	for _, p := range m.Params {
		if p.Value == "" || !sdName(p.Name) {
			continue
		}
		b.WriteString(" " + p.Name + `="` + sdEscape(text.Escape(p.Value)) + `"`)
	}
	b.WriteString("] ")
	// One message, one line, whatever the transport (line breaks become
	// spaces); other control characters from the data are written escaped
	// (\x1b), as in every text output.
	b.WriteString(text.Escape(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(m.Text)))
	return []byte(b.String())
}

// sdName reports whether s is a valid PARAM-NAME (1–32 printable US-ASCII,
// none of '=', ' ', ']', '"'); a bad one would make the whole line
// unparseable, so it is left out.
func sdName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			return false
		}
	}
	return true
}

// headerField makes an RFC 5424 header field: printable US-ASCII, no
// spaces, bounded, "-" when empty.
func headerField(s string, max int) string {
	if s == "" {
		return "-"
	}
	out := []byte(s)
	for i, c := range out {
		if c < 33 || c > 126 {
			out[i] = '_'
		}
	}
	if len(out) > max {
		out = out[:max]
	}
	return string(out)
}

// sdEscape escapes a PARAM-VALUE: '"', '\' and ']' take a backslash.
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// Syslog sends alerts as RFC 5424 messages; on TCP and unix stream sockets
// with octet-counting framing (RFC 6587), on UDP one per datagram (RFC 5426).
type Syslog struct {
	opts SyslogOptions
	hdr  syslogHeader

	mu     sync.Mutex
	conn   net.Conn
	stream bool
	closed bool
}

// NewSyslog connects to the syslog receiver.
func NewSyslog(opts SyslogOptions) (*Syslog, error) {
	switch opts.Network {
	case "udp", "tcp", "unix":
	default:
		return nil, fmt.Errorf("syslog: network %q: want udp, tcp or unix", opts.Network)
	}
	if opts.Tag == "" {
		opts.Tag = "bulwark"
	}
	if opts.Facility == 0 {
		opts.Facility = SyslogFacilityLogAudit
	}
	if opts.Facility < 0 || opts.Facility > 23 {
		return nil, fmt.Errorf("syslog: facility %d out of 0..23", opts.Facility)
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	s := &Syslog{opts: opts, hdr: syslogHeader{
		facility: opts.Facility, hostname: opts.Hostname, appName: opts.Tag, procID: strconv.Itoa(os.Getpid()),
	}}
	if err := s.dialLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Syslog) dialLocked() error {
	d := net.Dialer{Timeout: s.opts.Timeout}
	networks := []string{s.opts.Network}
	if s.opts.Network == "unix" {
		networks = []string{"unixgram", "unix"} // /dev/log is a datagram socket
	}
	var err error
	for _, n := range networks {
		var c net.Conn
		if c, err = d.Dial(n, s.opts.Addr); err == nil {
			s.conn, s.stream = c, n == "tcp" || n == "unix"
			return nil
		}
	}
	return fmt.Errorf("connecting to syslog %s %s: %w", s.opts.Network, s.opts.Addr, err)
}

// Send writes one message; a broken stream connection is redialled once.
func (s *Syslog) Send(_ context.Context, a model.Alert) error {
	if err := s.write(formatSyslog(s.hdr, a)); err != nil {
		return fmt.Errorf("sending alert %s to syslog %s: %w", a.ID, s.opts.Addr, err)
	}
	return nil
}

// SendMessage writes one message that is not an alert (see SyslogMessage),
// with Send's header, framing and redial.
func (s *Syslog) SendMessage(_ context.Context, m SyslogMessage) error {
	if err := s.write(formatMessage(s.hdr, m)); err != nil {
		return fmt.Errorf("sending %s message to syslog %s: %w", m.MsgID, s.opts.Addr, err)
	}
	return nil
}

func (s *Syslog) write(msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("syslog sink is closed")
	}
	err := s.writeLocked(msg)
	if err != nil && s.stream {
		s.conn.Close()
		if err = s.dialLocked(); err == nil {
			err = s.writeLocked(msg)
		}
	}
	return err
}

func (s *Syslog) writeLocked(msg []byte) error {
	if s.conn == nil {
		return errors.New("not connected")
	}
	if s.stream {
		msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	} else if len(msg) > maxDatagram {
		msg = msg[:maxDatagram]
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
	_, err := s.conn.Write(msg)
	return err
}

// Close closes the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.conn == nil {
		s.closed = true
		return nil
	}
	s.closed = true
	return s.conn.Close()
}
