// Package redact is the one step that takes secrets out of what Bulwark
// writes to logs and alert sinks: URLs lose their credentials, audit
// evidence loses Secret data and token request bodies, and
// Authorization-like headers and bearer tokens are masked wherever they
// appear. Every function is pure and safe for concurrent use.
package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Mask replaces what is taken out.
const Mask = "REDACTED"

// URL returns u fit for a log line: no userinfo, no query, no fragment,
// and every path segment that looks like a token (Slack, Discord, Teams
// and many SIEM webhook URLs carry their secret in the path) masked. A
// string that does not parse as a URL is masked whole, except for a
// scheme://host prefix when there is one.
func URL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Opaque != "" {
		scheme, rest, ok := strings.Cut(u, "://")
		if !ok || !schemeRE.MatchString(scheme) {
			return Mask
		}
		host := rest
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
		return scheme + "://" + host + "/" + Mask
	}
	out := url.URL{Scheme: p.Scheme, Host: p.Host}
	if p.Path != "" {
		segs := strings.Split(p.Path, "/")
		for i, s := range segs {
			if tokenLike(s) {
				segs[i] = Mask
			}
		}
		out.Path = strings.Join(segs, "/")
		if out.Host == "" && strings.HasPrefix(out.Path, "//") {
			// Printed as is it would read back as an authority ("//@x").
			out.Path = "/" + strings.TrimLeft(out.Path, "/")
		}
	}
	s := out.String()
	if p.RawQuery != "" || p.ForceQuery {
		s += "?" + Mask
	}
	return s
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// tokenLike says whether a path segment may be a credential: long (20 or
// more bytes), or 8 or more bytes mixing letters and digits, or 8 or more
// digits (Discord's webhook id). Words ("services", "api", "v1", "hooks")
// are kept so the line still says where alerts go.
func tokenLike(s string) bool {
	if len(s) >= 20 {
		return true
	}
	if len(s) < 8 {
		return false
	}
	return strings.IndexFunc(s, unicode.IsDigit) >= 0
}

// sensitiveKey reports whether a JSON member or header name holds a
// credential: Authorization and its relatives, cookies, API keys, tokens
// and passwords.
func sensitiveKey(k string) bool {
	// Lower-case ASCII without '-', '_' and spaces, on the stack: this
	// runs for every member of every record.
	var buf [32]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-' || c == '_' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(buf) {
			return false // longer than any name below
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "authorization", "proxyauthorization", "cookie", "setcookie", "xapikey", "apikey", "xauthtoken", "authtoken",
		"token", "accesstoken", "refreshtoken", "idtoken", "password", "passwd", "secret", "clientsecret", "privatekey":
		return true
	}
	return false
}

var (
	// bearerRE: "Bearer <token>" and "Basic <credentials>" anywhere.
	bearerRE = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}`)
	// headerRE: "Authorization: value", "x-api-key=value", "password=value"
	// in log text and command lines, up to the end of the value.
	headerRE = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|x-api-key|api[-_]?key|x-auth-token|auth[-_]?token|access[-_]?token|password|passwd|client[-_]?secret)(["']?\s*[:=]\s*["']?)((?:bearer\s+|basic\s+)?[^\s"',;&}]+)`)
	// flagRE: "--password value", "-token value" in command lines.
	flagRE = regexp.MustCompile(`(?i)(\s--?(?:password|passwd|token|api-key|apikey|client-secret|auth-token|access-token)\s+)(\S+)`)
	// userinfoRE: credentials in a URL inside text.
	userinfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@"']+@`)
)

// Text masks credentials in free text (command lines, log output, Falco
// lines): bearer and basic credentials, Authorization-like header or flag
// values, and URL userinfo.
func Text(s string) string {
	if !mayHoldCredential(s) {
		return s // the common case, without a regexp
	}
	s = userinfoRE.ReplaceAllString(s, "${1}"+Mask+"@")
	s = headerRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := headerRE.FindStringSubmatch(m)
		return sub[1] + sub[2] + Mask
	})
	s = flagRE.ReplaceAllString(s, "${1}"+Mask)
	s = bearerRE.ReplaceAllString(s, "${1}${2}"+Mask)
	return s
}

// recordKeywords are what anything Evidence redacts needs somewhere in a
// JSON record: Text's keywords (its patterns, and every sensitive member
// name: authorization, apikey, privatekey, password …), "cookie", and the
// resources whose bodies audit events drop (secrets, configmaps,
// serviceaccounts/token).
var recordKeywords = []string{"bearer", "basic", "auth", "key", "pass", "secret", "token", "cookie", "configmaps"}

// mayHoldSecret is Evidence's prefilter: false means nothing in the
// record can be redacted, so it is kept as read without decoding it (most
// audit and engine records). It errs on the side of the full path: any
// JSON escape (\u…, which could spell a keyword), any URL, and keywords
// matched ignoring '-', '_' and ' ' as sensitiveKey normalises names.
func mayHoldSecret(raw []byte) bool {
	if bytes.Contains(raw, []byte(`\u`)) || bytes.Contains(raw, []byte("://")) {
		return true
	}
	for _, k := range recordKeywords {
		if containsFoldLoose(raw, k) {
			return true
		}
	}
	return false
}

// containsFoldLoose reports whether raw contains the lower-case ASCII word
// k, ignoring ASCII case and any '-', '_' or ' ' between its letters.
func containsFoldLoose(raw []byte, k string) bool {
	for i := range raw {
		c := raw[i] | 0x20 // ASCII lower case; other bytes never equal a letter of k after this
		if c != k[0] {
			continue
		}
		j, m := i+1, 1
		for ; j < len(raw) && m < len(k); j++ {
			c := raw[j]
			if c == '-' || c == '_' || c == ' ' {
				continue
			}
			if c|0x20 != k[m] {
				break
			}
			m++
		}
		if m == len(k) {
			return true
		}
	}
	return false
}

// textKeywords are what every pattern of Text needs somewhere in the
// string (ASCII, matched case-insensitively).
var textKeywords = []string{"bearer", "basic", "auth", "key", "pass", "secret", "token"}

// mayHoldCredential is a cheap prefilter for Text: false means none of
// its patterns can match.
func mayHoldCredential(s string) bool {
	if len(s) < 4 {
		return false
	}
	if strings.Contains(s, "://") && strings.IndexByte(s, '@') >= 0 {
		return true
	}
	for _, k := range textKeywords {
		if containsFold(s, k) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII word k,
// ignoring ASCII case, without allocating.
func containsFold(s, k string) bool {
	for i := 0; i+len(k) <= len(s); i++ {
		j := 0
		for ; j < len(k); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != k[j] {
				break
			}
		}
		if j == len(k) {
			return true
		}
	}
	return false
}

// Evidence returns raw evidence (a record as read: an audit event, a
// Docker event, a Falco or auditd line) without its secrets. JSON keeps
// its shape: for an audit event of a Secret (or a list of them) the data
// and stringData members of the request and response objects are
// replaced by their keys, for a ConfigMap data and binaryData likewise; a
// TokenRequest's (serviceaccounts/token) request and response objects are
// dropped, keeping kind and apiVersion; members with Authorization-like
// names are masked anywhere; strings are passed through Text. The
// object's identity (objectRef, metadata, user, verb) stays. Anything not
// JSON is Text-redacted.
func Evidence(raw []byte) []byte {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return []byte(Text(string(raw)))
	}
	if !mayHoldSecret(trimmed) {
		return raw // the common case, without decoding the record
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		// Not one JSON value (a cut record): mask what can be found as
		// text, and the values of secret-bearing members by pattern.
		return []byte(maskJSONText(Text(string(raw))))
	}
	changed := false
	if m, ok := v.(map[string]any); ok && isAuditEvent(m) {
		changed = auditEvent(m)
	}
	v = walk(v, &changed)
	if !changed {
		return raw // nothing secret: the record as read, byte for byte
	}
	out, err := marshal(v)
	if err != nil {
		return []byte(Mask)
	}
	return out
}

// dataMemberRE finds "data" / "stringData" / "binaryData" objects in JSON
// text that could not be parsed (a cut record): their contents go.
var dataMemberRE = regexp.MustCompile(`"(data|stringData|binaryData|token)"\s*:\s*(\{[^{}]*\}?|"[^"]*"?)`)

func maskJSONText(s string) string {
	return dataMemberRE.ReplaceAllString(s, `"${1}":"`+Mask+`"`)
}

func isAuditEvent(m map[string]any) bool {
	_, ok := m["auditID"]
	_, ref := m["objectRef"].(map[string]any)
	return ok && ref
}

// auditEvent redacts the request and response objects of an audit event
// by the resource they are about, and reports whether it changed any.
func auditEvent(m map[string]any) (changed bool) {
	ref := m["objectRef"].(map[string]any)
	resource, _ := ref["resource"].(string)
	sub, _ := ref["subresource"].(string)
	for _, k := range []string{"requestObject", "responseObject"} {
		obj, ok := m[k].(map[string]any)
		if !ok {
			continue
		}
		// changed is exact, so a record redacted once (perhaps as text,
		// when it was not valid JSON) is not rewritten by a second pass.
		switch {
		case resource == "serviceaccounts" && sub == "token":
			if !isIdentity(obj) {
				m[k] = identity(obj)
				changed = true
			}
		case resource == "secrets" && sub == "":
			changed = secretData(obj, "data", "stringData") || changed
		case resource == "configmaps" && sub == "":
			changed = secretData(obj, "data", "binaryData") || changed
		}
	}
	return changed
}

// isIdentity is true for what identity returns, and only for that: a
// body that merely claims "redacted" is still redacted.
func isIdentity(obj map[string]any) bool {
	if obj["redacted"] != true {
		return false
	}
	for k, v := range obj {
		switch k {
		case "redacted", "kind", "apiVersion":
		case "metadata":
			md, ok := v.(map[string]any)
			if !ok {
				return false
			}
			for mk := range md {
				if mk != "name" && mk != "namespace" && mk != "uid" {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// identity keeps what names an object and says its body was removed.
func identity(obj map[string]any) map[string]any {
	out := map[string]any{"redacted": true}
	for _, k := range []string{"kind", "apiVersion"} {
		if v, ok := obj[k]; ok {
			out[k] = v
		}
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		keep := map[string]any{}
		for _, k := range []string{"name", "namespace", "uid"} {
			if v, ok := md[k]; ok {
				keep[k] = v
			}
		}
		out["metadata"] = keep
	}
	return out
}

// secretData replaces the data members of an object, or of each item of a
// list, by the sorted list of their keys, values masked.
func secretData(obj map[string]any, members ...string) (changed bool) {
	if items, ok := obj["items"].([]any); ok {
		for _, it := range items {
			if o, ok := it.(map[string]any); ok && secretData(o, members...) {
				changed = true
			}
		}
	}
	for _, k := range members {
		switch d := obj[k].(type) {
		case map[string]any:
			masked := make(map[string]any, len(d))
			for key, v := range d {
				masked[key] = Mask
				if v != Mask {
					changed = true
				}
			}
			obj[k] = masked
		case nil:
		default:
			if d != Mask {
				obj[k] = Mask
				changed = true
			}
		}
	}
	// The last-applied annotation repeats the whole object, data included.
	if md, ok := obj["metadata"].(map[string]any); ok {
		if an, ok := md["annotations"].(map[string]any); ok {
			const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
			if v, ok := an[lastApplied]; ok && v != Mask {
				an[lastApplied] = Mask
				changed = true
			}
		}
	}
	return changed
}

// walk masks sensitive members and Text-redacts strings, recursively,
// setting *changed when it changes anything.
func walk(v any, changed *bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if sensitiveKey(k) {
				if _, isObj := e.(map[string]any); !isObj {
					if e != Mask {
						x[k] = Mask
						*changed = true
					}
					continue
				}
			}
			x[k] = walk(e, changed)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = walk(e, changed)
		}
		return x
	case string:
		r := Text(x)
		if r != x {
			*changed = true
		}
		return r
	}
	return v
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// URLError redacts, in place, the URL an error of net/http's client names
// (a *url.Error anywhere in err's chain), and returns err.
func URLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = URL(ue.URL)
	}
	return err
}
