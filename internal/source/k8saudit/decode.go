package k8saudit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
)

// A hand-written decoder for the audit Event shape. Audit events arrive at
// the rate of every API request and most of their bytes are request and
// response objects no rule reads, so the decoder walks the input once,
// keeps those objects as sub-slices of the input (no copy, no decode) and
// allocates only the strings it maps. encoding/json (reflection, a
// validation pass, then a decoding pass, copying every RawMessage) was
// 5–10× slower; goccy/go-json was faster but has open out-of-bounds reads on
// malformed input (goccy/go-json#575, #604), and this input is untrusted.
// FuzzDecodeDifferential checks it against sigs.k8s.io/json, the decoder
// the API server itself uses.

const maxDepth = 10000 // as encoding/json

type decoder struct {
	b     []byte
	i     int
	depth int
	strs  *strCache // recent strings of a Parser; nil for the stateless Parse
}

type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

func (d *decoder) fail(msg string) error { return &syntaxError{msg, d.i} }

func (d *decoder) failAt(msg string, off int) error { return &syntaxError{msg, off} }

func (d *decoder) ws() { d.i = skipSpace(d.b, d.i) }

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// peek returns the next non-space byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// null consumes a null literal if one is at d.i. Every caller is at a
// value, past white space, so it need not skip any (and it inlines).
func (d *decoder) null() bool {
	return d.i < len(d.b) && d.b[d.i] == 'n' && d.literal("null")
}

// stringEnd returns the index just past the closing quote of the string
// starting at d.i, and whether it needs unescaping (escapes or non-ASCII).
func (d *decoder) stringEnd() (int, bool, error) { return d.stringEndAt(d.i) }

// stringEndAt is stringEnd for the string starting at i; errors are
// reported at i.
func (d *decoder) stringEndAt(i int) (int, bool, error) {
	b := d.b
	if i >= len(b) || b[i] != '"' {
		return 0, false, d.failAt("expected string", i)
	}
	slow := false
	j := i + 1
	for {
		// Most string bytes are plain: test eight at a time and jump
		// straight to the first one that needs attention (the lowest
		// flagged byte of specialMask is exact).
		for j+8 <= len(b) {
			m := specialMask(binary.LittleEndian.Uint64(b[j : j+8]))
			if m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				goto special
			}
			j += 8
		}
		for j < len(b) && plain[b[j]] {
			j++
		}
		if j >= len(b) {
			return 0, false, d.failAt("unterminated string", i)
		}
	special:
		switch c := b[j]; {
		case c == '"':
			return j + 1, slow, nil
		case c == '\\':
			slow = true
			j++
			if j >= len(b) {
				return 0, false, d.failAt("unterminated string", i)
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return 0, false, d.failAt("unterminated string", i)
				}
				for k := j + 1; k <= j+4; k++ {
					if !isHex(b[k]) {
						return 0, false, d.failAt("invalid \\u escape", i)
					}
				}
				j += 4
			default:
				return 0, false, d.failAt("invalid escape", i)
			}
		case c < 0x20:
			return 0, false, d.failAt("control character in string", i)
		default: // c >= 0x80
			slow = true
		}
		j++
	}
}

// plain marks the string bytes that need no attention: printable ASCII
// other than the quote and the backslash. Read-only.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// specialMask flags (high bit of the byte) the bytes of w that are not
// plain: a control character, '"', '\\' or a byte >= 0x80 (the SWAR tests
// of "Bit Twiddling Hacks", simplified: a byte >= 0x80 is flagged anyway,
// so the tests need not exclude it). A subtraction borrows only out of a
// flagged byte, so it can flag bytes above it falsely, never below: the
// lowest flagged byte is exact.
func specialMask(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return (w | (w - 0x20*ones) | ((w ^ '"'*ones) - ones) | ((w ^ '\\'*ones) - ones)) & highs
}

// special8 reports whether any of the eight bytes in w is not plain.
func special8(w uint64) bool { return specialMask(w) != 0 }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// str decodes a string. Plain ASCII is copied directly; strings with
// escapes or non-ASCII bytes go through encoding/json so that invalid
// UTF-8 and surrogates come out exactly as the API server's decoder makes
// them.
func (d *decoder) str() (string, error) {
	end, slow, err := d.stringEnd()
	if err != nil {
		return "", err
	}
	tok := d.b[d.i:end]
	d.i = end
	if !slow {
		if d.strs != nil {
			return d.strs.get(tok[1 : len(tok)-1]), nil
		}
		return intern(tok[1 : len(tok)-1]), nil
	}
	return unescape(tok)
}

// strUnique decodes a string that differs in every event (audit IDs,
// timestamps, URIs, names): looking it up in a table would only cost.
func (d *decoder) strUnique() (string, error) {
	end, slow, err := d.stringEnd()
	if err != nil {
		return "", err
	}
	tok := d.b[d.i:end]
	d.i = end
	if !slow {
		return string(tok[1 : len(tok)-1]), nil
	}
	return unescape(tok)
}

func unescape(tok []byte) (string, error) {
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return "", fmt.Errorf("decoding string: %w", err)
	}
	return s, nil
}

// interned holds values that recur in every audit event (stages, levels,
// verbs, common resources, groups and annotation keys). Read-only.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"ResponseComplete", "ResponseStarted", "RequestReceived", "Panic", "None", "Metadata", "Request",
		"RequestResponse", "get", "list", "watch", "create", "update", "patch", "delete",
		"deletecollection", "v1", "apps", "rbac.authorization.k8s.io", "coordination.k8s.io",
		"admissionregistration.k8s.io", "pods", "secrets", "configmaps", "services", "endpoints",
		"events", "nodes", "namespaces", "serviceaccounts", "leases", "deployments", "replicasets",
		"daemonsets", "statefulsets", "jobs", "cronjobs", "roles", "rolebindings", "clusterroles",
		"clusterrolebindings", "endpointslices", "token", "exec", "attach", "portforward", "log",
		"status", "binding", "eviction", "proxy", "system:authenticated", "system:unauthenticated",
		"system:masters", "system:nodes", "system:serviceaccounts", "system:kube-controller-manager",
		"system:kube-scheduler", "system:apiserver", "kube-system", "default", "allow", "forbid",
		"authorization.k8s.io/decision", "authorization.k8s.io/reason", "",
	} {
		m[s] = s
	}
	return m
}()

// intern returns recurring values without allocating (a map index by
// string(b) does not copy b).
func intern(b []byte) string {
	if s, ok := interned[string(b)]; ok {
		return s
	}
	return string(b)
}

// keyString is a map key as a string, from the Parser's table when there
// is one (annotation keys recur in every event).
func (d *decoder) keyString(k []byte) string {
	if d.strs != nil {
		return d.strs.get(k)
	}
	return string(k)
}

// key decodes an object key and its colon, leaving d.i at the value. A
// plain key is a sub-slice of the input (callers switch on string(k),
// which does not allocate); an escaped key is decoded. It works on a local
// index: keys are a third of the strings of an event.
func (d *decoder) key() ([]byte, error) {
	b := d.b
	i := skipSpace(b, d.i)
	if i >= len(b) || b[i] != '"' {
		return nil, d.failAt("expected object key", i)
	}
	end, slow, err := d.stringEndAt(i)
	if err != nil {
		return nil, err
	}
	var k []byte
	if !slow {
		k = b[i+1 : end-1]
	} else {
		d.i = i
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		k = []byte(s)
	}
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, d.failAt("expected ':'", i)
	}
	d.i = skipSpace(b, i+1)
	return k, nil
}

// object calls field for every key of the object starting at d.i, with d.i
// at the value; field must consume the value.
func (d *decoder) object(field func(key []byte) error) error {
	if d.peek() != '{' {
		return d.fail("expected object")
	}
	if d.depth++; d.depth > maxDepth {
		return d.fail("exceeded max depth")
	}
	d.i++
	if d.peek() == '}' {
		d.i++
		d.depth--
		return nil
	}
	for {
		k, err := d.key()
		if err != nil {
			return err
		}
		if err := field(k); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return nil
		default:
			return d.fail("expected ',' or '}'")
		}
	}
}

// array calls elem for every element of the array starting at d.i.
func (d *decoder) array(elem func() error) error {
	if d.peek() != '[' {
		return d.fail("expected array")
	}
	if d.depth++; d.depth > maxDepth {
		return d.fail("exceeded max depth")
	}
	d.i++
	if d.peek() == ']' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.ws()
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return nil
		default:
			return d.fail("expected ',' or ']'")
		}
	}
}

// skip consumes and validates any value. Request and response objects
// are most of the bytes, so it is one loop over a local index (kept in a
// register, where d.i would go through memory) with its own stack of open
// containers: a call or closure per nested value would cost more than the
// scanning.
func (d *decoder) skip() error {
	b, i := d.b, d.i
	var stackBuf [64]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	var err error
	for {
		// A value is expected at i.
		i = skipSpace(b, i)
		var c byte
		if i < len(b) {
			c = b[i]
		}
		switch c {
		case '{', '[':
			i++
			stack = append(stack, c)
			if d.depth+len(stack) > maxDepth {
				return d.failAt("exceeded max depth", i)
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == c+2 { // '}' and ']' follow '{' and '[' by two
				i++
				stack = stack[:len(stack)-1]
				break
			}
			if c == '{' {
				if i, err = d.skipKeyAt(i); err != nil {
					return err
				}
			}
			continue
		case '"':
			if i, _, err = d.stringEndAt(i); err != nil {
				return err
			}
		case 't', 'f', 'n':
			lit := "true"
			if c == 'f' {
				lit = "false"
			} else if c == 'n' {
				lit = "null"
			}
			if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
				return d.failAt("invalid literal", i)
			}
			i += len(lit)
		default:
			d.i = i
			if _, err := d.number(); err != nil {
				return err
			}
			i = d.i
		}
		// After a value: close containers or go on to the next element.
		for {
			if len(stack) == 0 {
				d.i = i
				return nil
			}
			i = skipSpace(b, i)
			var c byte
			if i < len(b) {
				c = b[i]
			}
			top := stack[len(stack)-1]
			if c == ',' {
				i++
				if top == '{' {
					if i, err = d.skipKeyAt(i); err != nil {
						return err
					}
				}
				break
			}
			if c == top+2 {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			return d.failAt("expected ',' or end of container", i)
		}
	}
}

// skipKeyAt consumes `"key" :` from i and returns the index after it.
func (d *decoder) skipKeyAt(i int) (int, error) {
	b := d.b
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '"' {
		return 0, d.failAt("expected object key", i)
	}
	i, _, err := d.stringEndAt(i)
	if err != nil {
		return 0, err
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return 0, d.failAt("expected ':'", i)
	}
	return i + 1, nil
}

// raw consumes a value and returns its bytes (a sub-slice of the input),
// or nil for null.
func (d *decoder) raw() ([]byte, error) {
	if d.null() {
		return nil, nil
	}
	start := d.i
	if err := d.skip(); err != nil {
		return nil, err
	}
	return d.b[start:d.i:d.i], nil
}

// number consumes a JSON number and returns its text.
func (d *decoder) number() ([]byte, error) {
	start := d.i
	b := d.b
	i := d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return nil, d.fail("invalid character looking for value")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.fail("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.fail("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return b[start:i], nil
}

// The typed helpers keep encoding/json's null semantics: null leaves the
// field as it was.

func (d *decoder) strField(dst *string) error {
	if d.null() {
		return nil
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

func (d *decoder) uniqueField(dst *string) error {
	if d.null() {
		return nil
	}
	s, err := d.strUnique()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

func (d *decoder) strSlice(dst *[]string) error {
	if d.null() {
		*dst = nil
		return nil
	}
	// Groups and source IPs are a few entries: gather them on the stack
	// and allocate the slice once, at its size.
	var buf [8]string
	out := buf[:0]
	err := d.array(func() error {
		if d.null() {
			out = append(out, "")
			return nil
		}
		s, err := d.str()
		out = append(out, s)
		return err
	})
	*dst = append(make([]string, 0, len(out)), out...)
	return err
}

func (d *decoder) strMap(dst *map[string]string) error {
	if d.null() {
		*dst = nil
		return nil
	}
	if *dst == nil {
		*dst = map[string]string{}
	}
	m := *dst
	return d.object(func(k []byte) error {
		key := d.keyString(k)
		if d.null() {
			m[key] = "" // encoding/json stores the zero value
			return nil
		}
		s, err := d.str()
		m[key] = s
		return err
	})
}

// timestampField keeps a plain timestamp as a sub-slice of the input in
// raw, an escaped one decoded in s; null leaves both as they were.
func (d *decoder) timestampField(s *string, raw *[]byte) error {
	if d.null() {
		return nil
	}
	end, slow, err := d.stringEnd()
	if err != nil {
		return err
	}
	tok := d.b[d.i:end]
	d.i = end
	if !slow {
		*s, *raw = "", tok[1:len(tok)-1:len(tok)-1]
		return nil
	}
	v, err := unescape(tok)
	*s, *raw = v, nil
	return err
}

func (d *decoder) intField(dst *int) error {
	if d.null() {
		return nil
	}
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		if err := d.skip(); err != nil {
			return err
		}
		return errors.New("expected a number")
	}
	tok, err := d.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(tok), 10, 0)
	if err != nil {
		return fmt.Errorf("number %s: not an int", tok)
	}
	*dst = int(n)
	return nil
}

func (d *decoder) user(dst *userInfo) error {
	return d.object(func(k []byte) error {
		switch string(k) {
		case "username":
			return d.strField(&dst.Username)
		case "groups":
			return d.strSlice(&dst.Groups)
		}
		return d.skip()
	})
}

func (d *decoder) objectRef(r *objectRef) error {
	if d.null() {
		return nil
	}
	return d.object(func(k []byte) error {
		switch string(k) {
		case "resource":
			return d.strField(&r.Resource)
		case "namespace":
			return d.strField(&r.Namespace)
		case "name":
			return d.uniqueField(&r.Name)
		case "apiGroup":
			return d.strField(&r.APIGroup)
		case "apiVersion":
			return d.strField(&r.APIVersion)
		case "subresource":
			return d.strField(&r.Subresource)
		}
		return d.skip()
	})
}

func (d *decoder) status(s *status) error {
	if d.null() {
		return nil
	}
	return d.object(func(k []byte) error {
		if string(k) == "code" {
			return d.intField(&s.Code)
		}
		return d.skip()
	})
}

// event decodes one audit Event object into a.
func (d *decoder) event(a *auditEvent) error {
	return d.object(func(k []byte) error {
		switch string(k) {
		case "kind":
			return d.strField(&a.Kind)
		case "level":
			return d.strField(&a.Level)
		case "auditID":
			return d.uniqueField(&a.AuditID)
		case "stage":
			return d.strField(&a.Stage)
		case "requestURI":
			return d.uniqueField(&a.RequestURI)
		case "verb":
			return d.strField(&a.Verb)
		case "user":
			if d.null() {
				return nil
			}
			return d.user(&a.User)
		case "impersonatedUser":
			if d.null() {
				return nil
			}
			return d.user(&a.ImpersonatedUser)
		case "sourceIPs":
			return d.strSlice(&a.SourceIPs)
		case "userAgent":
			return d.strField(&a.UserAgent)
		case "objectRef":
			return d.objectRef(&a.ObjectRef)
		case "responseStatus":
			return d.status(&a.ResponseStatus)
		case "requestObject":
			r, err := d.raw()
			a.RequestObject = r
			return err
		case "responseObject":
			r, err := d.raw()
			a.ResponseObject = r
			return err
		case "requestReceivedTimestamp":
			return d.timestampField(&a.RequestReceived, &a.requestReceivedRaw)
		case "stageTimestamp":
			return d.timestampField(&a.StageTimestamp, &a.stageTimestampRaw)
		case "annotations":
			return d.strMap(&a.Annotations)
		}
		return d.skip()
	})
}

// end checks that only white space follows the value.
func (d *decoder) end() error {
	if d.peek() != 0 || d.i < len(d.b) {
		return d.fail("invalid character after top-level value")
	}
	return nil
}

// decodeEvent decodes one audit Event.
func decodeEvent(b []byte, a *auditEvent, strs *strCache) error {
	d := decoder{b: b, strs: strs}
	d.ws()
	if d.null() {
		return d.end() // as encoding/json: null leaves the event empty
	}
	if err := d.event(a); err != nil {
		return err
	}
	return d.end()
}

// decodeList decodes an EventList, calling item with every item decoded and
// its raw bytes. A malformed item ends the list: past a syntax error the
// rest of the body cannot be trusted.
func decodeList(b []byte, strs *strCache, item func(a *auditEvent, raw []byte)) (kind string, err error) {
	d := decoder{b: b, strs: strs}
	err = d.object(func(k []byte) error {
		switch string(k) {
		case "kind":
			return d.strField(&kind)
		case "items":
			if d.null() {
				return nil
			}
			return d.array(func() error {
				start := d.i
				var a auditEvent
				if err := d.event(&a); err != nil {
					return err
				}
				item(&a, d.b[start:d.i:d.i])
				return nil
			})
		}
		return d.skip()
	})
	if err == nil {
		err = d.end()
	}
	return kind, err
}
