// Package auditd turns Linux audit log records (auditd's
// /var/log/audit/audit.log: SYSCALL, EXECVE, CWD, PATH, PROCTITLE, SOCKADDR…)
// into events: ParseRecord reads one line, Build maps the records of one
// audit event (joined by serial with a Joiner) to an event, and Tailer
// follows the log.
package auditd

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one audit record (one log line).
type Record struct {
	Type   string
	Time   time.Time
	Serial uint64
	Node   string // node= prefix, when auditd's name_format adds one
	Fields []Field
	// Line is the record as read, for evidence.
	Line string
}

// Field is one key=value of a record, the value as written (quoted,
// hex-encoded or plain). Enriched fields (after auditd's 0x1d separator in
// log_format=ENRICHED) have upper-case keys: UID="root".
type Field struct {
	Key, Value string
}

// Get returns the raw value of the first field named key.
func (r *Record) Get(key string) (string, bool) {
	for _, f := range r.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// Str returns a field holding an untrusted string the kernel writes quoted
// when plain and hex-encoded when it contains spaces, quotes or control
// characters (audit_log_untrustedstring): exe, comm, cwd, name, a0….
func (r *Record) Str(key string) string {
	v, _ := r.Get(key)
	return untrusted(v)
}

// Int returns a decimal field, or def when absent or not a number.
func (r *Record) Int(key string, def int) int {
	v, ok := r.Get(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}
	return int(n)
}

func untrusted(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	if v == "(null)" || v == "(none)" {
		return ""
	}
	if b, err := hex.DecodeString(v); err == nil && len(v) > 0 {
		return string(b)
	}
	return v
}

// MaxLine bounds a record; the kernel's limit is 8970 bytes, auditd's
// enrichment adds a little.
const MaxLine = 64 << 10

// ParseRecord parses one audit log line:
//
//	[node=N ]type=T msg=audit(SEC.MSEC:SERIAL): key=value … [\x1dKEY=value …]
func ParseRecord(line []byte) (*Record, error) {
	if len(line) > MaxLine {
		return nil, fmt.Errorf("audit record of %d bytes is over the %d limit", len(line), MaxLine)
	}
	s := strings.TrimRight(string(line), "\r\n")
	r := &Record{Line: s}
	rest := s
	if strings.HasPrefix(rest, "node=") {
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			return nil, errors.New("audit record: node= without type=")
		}
		r.Node = rest[len("node="):end]
		rest = rest[end+1:]
	}
	if !strings.HasPrefix(rest, "type=") {
		return nil, errors.New("audit record: does not start with type=")
	}
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		return nil, errors.New("audit record: no msg=audit(…) after type=")
	}
	r.Type = rest[len("type="):end]
	if r.Type == "" {
		return nil, errors.New("audit record: empty type")
	}
	rest = rest[end+1:]
	if !strings.HasPrefix(rest, "msg=audit(") {
		return nil, fmt.Errorf("audit record %s: no msg=audit(…)", r.Type)
	}
	rest = rest[len("msg=audit("):]
	close := strings.IndexByte(rest, ')')
	if close < 0 {
		return nil, fmt.Errorf("audit record %s: unterminated msg=audit(", r.Type)
	}
	stamp := rest[:close]
	rest = strings.TrimPrefix(rest[close+1:], ":")
	colon := strings.IndexByte(stamp, ':')
	if colon < 0 {
		return nil, fmt.Errorf("audit record %s: stamp %q has no serial", r.Type, stamp)
	}
	serial, err := strconv.ParseUint(stamp[colon+1:], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("audit record %s: serial %q: %w", r.Type, stamp[colon+1:], err)
	}
	r.Serial = serial
	secs, frac, _ := strings.Cut(stamp[:colon], ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || sec < 0 || sec > 1<<40 {
		return nil, fmt.Errorf("audit record %s: time %q is not seconds.millis", r.Type, stamp[:colon])
	}
	var ms int64
	if frac != "" {
		if ms, err = strconv.ParseInt(frac, 10, 64); err != nil || len(frac) > 9 {
			return nil, fmt.Errorf("audit record %s: time %q is not seconds.millis", r.Type, stamp[:colon])
		}
		for i := len(frac); i < 9; i++ {
			ms *= 10
		}
	}
	r.Time = time.Unix(sec, ms).UTC()
	r.Fields = parseFields(rest, r.Fields)
	return r, nil
}

// parseFields splits key=value pairs; a quoted value may hold spaces.
// Anything else malformed is kept as well as it can be: one odd field must
// not lose the record. The 0x1d separator starts the enriched fields.
func parseFields(s string, dst []Field) []Field {
	for {
		s = strings.TrimLeft(s, " \x1d")
		if s == "" {
			return dst
		}
		eq := strings.IndexAny(s, "= \x1d")
		if eq < 0 || s[eq] != '=' {
			// A bare word (the SELinux AVC "{ read }" style): skip it.
			if eq < 0 {
				return dst
			}
			s = s[eq:]
			continue
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		switch {
		case strings.HasPrefix(s, `"`):
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end+2], s[end+2:]
			}
		case strings.HasPrefix(s, "'"):
			// msg='op=… res=success' of user-space records: fields inside.
			end := strings.IndexByte(s[1:], '\'')
			inner := s[1:]
			if end >= 0 {
				inner, s = s[1:end+1], s[end+2:]
			} else {
				s = ""
			}
			dst = parseFields(inner, dst)
			continue
		case strings.HasPrefix(s, "{"):
			// SADDR={ saddr_fam=inet … } of enriched SOCKADDR records.
			end := strings.IndexByte(s, '}')
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end+1], s[end+1:]
			}
		default:
			end := strings.IndexAny(s, " \x1d")
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end], s[end:]
			}
		}
		if key != "" {
			dst = append(dst, Field{Key: key, Value: val})
		}
	}
}

// execArgs reassembles argv from the EXECVE records of one event: aN="…"
// or hex, and long arguments split as aN_len=… aN[0]=… aN[1]=… (hex).
func execArgs(recs []*Record) ([]string, bool) {
	argc := -1
	args := map[int]string{}
	split := map[int][]string{}
	found := false
	for _, r := range recs {
		if r.Type != "EXECVE" {
			continue
		}
		found = true
		for _, f := range r.Fields {
			if f.Key == "argc" {
				if n, err := strconv.Atoi(f.Value); err == nil && n >= 0 && n < 1<<16 {
					argc = n
				}
				continue
			}
			if len(f.Key) < 2 || f.Key[0] != 'a' || f.Key[1] < '0' || f.Key[1] > '9' {
				continue
			}
			num, sub, isSplit := strings.Cut(f.Key[1:], "[")
			if strings.HasSuffix(num, "_len") {
				continue
			}
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n >= 1<<16 {
				continue
			}
			if isSplit {
				i, err := strconv.Atoi(strings.TrimSuffix(sub, "]"))
				if err != nil || i < 0 || i >= 1<<16 {
					continue
				}
				parts := split[n]
				for len(parts) <= i {
					parts = append(parts, "")
				}
				parts[i] = untrusted(f.Value)
				split[n] = parts
				continue
			}
			args[n] = untrusted(f.Value)
		}
	}
	if !found {
		return nil, false
	}
	for n, parts := range split {
		args[n] = strings.Join(parts, "")
	}
	if argc < 0 {
		argc = 0
		for n := range args {
			argc = max(argc, n+1)
		}
	}
	out := make([]string, 0, argc)
	for i := range argc {
		out = append(out, args[i])
	}
	return out, true
}

// proctitle decodes PROCTITLE's hex argv (NUL-separated, truncated by the
// kernel to 128 bytes).
func proctitle(v string) []string {
	s := untrusted(v)
	return strings.Split(strings.TrimRight(s, "\x00"), "\x00")
}

// isHexID reports whether s is a 64-hex container id.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ContainerID finds a 64-hex container id in a cgroup path
// (/system.slice/docker-<id>.scope, /docker/<id>,
// /kubepods/…/cri-containerd-<id>.scope, …/crio-<id>.scope).
func ContainerID(cgroup string) string {
	for _, line := range strings.Split(cgroup, "\n") {
		// /proc/PID/cgroup lines are hierarchy:controllers:path.
		if i := strings.LastIndexByte(line, ':'); i >= 0 {
			line = line[i+1:]
		}
		segs := strings.Split(line, "/")
		for i := len(segs) - 1; i >= 0; i-- {
			seg := strings.TrimSuffix(segs[i], ".scope")
			if j := strings.LastIndexAny(seg, "-:"); j >= 0 {
				seg = seg[j+1:]
			}
			if isHexID(seg) {
				return seg
			}
		}
	}
	return ""
}
