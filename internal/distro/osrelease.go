package distro

import (
	"bufio"
	"bytes"
	"strings"
)

// ParseOSRelease reads os-release(5) text: KEY=value lines, values bare or
// in single or double quotes (with shell backslash escapes inside double
// quotes), '#' comments, CRLF tolerated. Lines that are not assignments
// are ignored, as systemd does.
func ParseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxFileSize)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !validKey(key) {
			continue
		}
		out[key] = unquote(strings.TrimSpace(val))
	}
	return out
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// unquote strips one level of shell quoting. An unterminated quote keeps
// the rest of the line, which is what the author evidently meant.
func unquote(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '\'':
		v = v[1:]
		if i := strings.IndexByte(v, '\''); i >= 0 {
			v = v[:i]
		}
		return v
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			if c == '"' {
				break
			}
			if c == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
				i++
				c = v[i]
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	// Unquoted: a trailing comment is not part of the value.
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}
