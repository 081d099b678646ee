// Package jsonast decodes JSON straight into OPA's ast values, without the
// map[string]any that encoding/json plus ast.InterfaceToValue would build
// and throw away: the admission webhook decodes every request.object this
// way. It accepts exactly what encoding/json accepts (RFC 8259 numbers, no
// control characters in strings, invalid UTF-8 and lone surrogates replaced
// by U+FFFD, the last of duplicate keys wins, nothing after the value) and
// keeps numbers as their exact text, as json.Decoder.UseNumber does.
package jsonast

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// MaxDepth bounds the nesting of arrays and objects: deeper input is an
// error, not a stack to exhaust. Kubernetes objects nest a dozen levels.
const MaxDepth = 1000

// SyntaxError is malformed JSON, with the byte offset where it was found.
type SyntaxError struct {
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.msg)
}

// Decode decodes one JSON value (surrounded by optional whitespace).
func Decode(data []byte) (ast.Value, error) {
	return DecodeWithout(data)
}

// DecodeWithout is Decode leaving out the member at path (object keys from
// the top), which is still validated but not built: Kubernetes objects
// carry metadata.managedFields, large and read by no policy.
func DecodeWithout(data []byte, path ...string) (ast.Value, error) {
	d := decoder{data: data, build: true, skip: path}
	d.skipSpace()
	t, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.errorf("invalid character %q after top-level value", d.data[d.pos])
	}
	return t.Value, nil
}

// decoder is a recursive-descent parser over data; pairs and terms are
// scratch stacks shared by nested objects and arrays, so building one
// allocates only its result.
type decoder struct {
	data  []byte
	pos   int
	depth int
	pairs [][2]*ast.Term
	terms []*ast.Term
	buf   []byte // unescaping scratch
	build bool   // false: validate only
	// skip is the path of a member not to build; matched is how many of
	// its keys the objects being parsed match (== depth-1 when the
	// current object's parents all lie on it).
	skip    []string
	matched int
}

func (d *decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: d.pos, msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) unexpected(what string) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input %s", what)
	}
	return d.errorf("invalid character %q %s", d.data[d.pos], what)
}

// value parses the value at d.pos (whitespace already skipped). When
// !d.build it validates and returns a nil term.
func (d *decoder) value() (*ast.Term, error) {
	if d.pos >= len(d.data) {
		return nil, d.unexpected("looking for beginning of value")
	}
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		s, err := d.str()
		if err != nil || !d.build {
			return nil, err
		}
		return stringTerm(s), nil
	case 't':
		return d.literal("true", ast.InternedTerm(true))
	case 'f':
		return d.literal("false", ast.InternedTerm(false))
	case 'n':
		return d.literal("null", ast.InternedNullTerm)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.unexpected("looking for beginning of value")
	}
}

func (d *decoder) literal(word string, t *ast.Term) (*ast.Term, error) {
	for i := 0; i < len(word); i++ {
		if d.pos >= len(d.data) || d.data[d.pos] != word[i] {
			return nil, d.unexpected("in literal " + word)
		}
		d.pos++
	}
	return t, nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return d.errorf("nested deeper than %d levels", MaxDepth)
	}
	return nil
}

func (d *decoder) object() (*ast.Term, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // '{'
	base := len(d.pairs)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		if !d.build {
			return nil, nil
		}
		return ast.NewTerm(ast.NewObject()), nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.unexpected("looking for beginning of object key string")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.unexpected("after object key")
		}
		d.pos++
		d.skipSpace()
		if d.build && d.matched == d.depth-1 && d.depth <= len(d.skip) && string(k) == d.skip[d.depth-1] {
			if err := d.onPath(); err != nil {
				return nil, err
			}
		} else {
			var v, kt *ast.Term
			if d.build {
				kt = stringTerm(k) // before value(): k is only valid until the next string
			}
			if v, err = d.value(); err != nil {
				return nil, err
			}
			if d.build {
				d.pairs = append(d.pairs, [2]*ast.Term{kt, v})
			}
		}
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ',' {
			d.pos++
			d.skipSpace()
			continue
		}
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			break
		}
		return nil, d.unexpected("after object key:value pair")
	}
	d.depth--
	if !d.build {
		return nil, nil
	}
	pairs := d.pairs[base:]
	var obj ast.Object
	if distinctKeys(pairs) {
		obj = ast.NewObject(pairs...) // one block for all members
	} else {
		// Insert: a repeated key replaces the earlier value, as
		// encoding/json does (NewObject would keep both).
		obj = ast.NewObjectWithCapacity(len(pairs))
		for _, p := range pairs {
			obj.Insert(p[0], p[1])
		}
	}
	clear(pairs)
	d.pairs = d.pairs[:base]
	return ast.NewTerm(obj), nil
}

// onPath parses the member whose key is the next on the skip path: at the
// path's end the value is validated and the member left out, before it
// the value is built with one more key of the path matched.
func (d *decoder) onPath() error {
	key := d.skip[d.depth-1]
	if d.depth == len(d.skip) {
		d.build = false
		_, err := d.value()
		d.build = true
		return err
	}
	d.matched++
	v, err := d.value()
	d.matched--
	if err != nil {
		return err
	}
	d.pairs = append(d.pairs, [2]*ast.Term{stringTerm([]byte(key)), v})
	return nil
}

func (d *decoder) array() (*ast.Term, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // '['
	base := len(d.terms)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		if !d.build {
			return nil, nil
		}
		return ast.NewTerm(ast.NewArray()), nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if d.build {
			d.terms = append(d.terms, v)
		}
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ',' {
			d.pos++
			d.skipSpace()
			continue
		}
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			break
		}
		return nil, d.unexpected("after array element")
	}
	d.depth--
	if !d.build {
		return nil, nil
	}
	elems := make([]*ast.Term, len(d.terms)-base)
	copy(elems, d.terms[base:])
	clear(d.terms[base:])
	d.terms = d.terms[:base]
	return ast.NewTerm(ast.NewArray(elems...)), nil
}

// distinctKeys reports whether no key repeats; objects past 32 members
// are taken as possibly repeating (the quadratic check is for the small
// objects that make up a Kubernetes object).
func distinctKeys(pairs [][2]*ast.Term) bool {
	if len(pairs) > 32 {
		return false
	}
	for i := 1; i < len(pairs); i++ {
		ki := pairs[i][0].Value.(ast.String)
		for j := range i {
			if pairs[j][0].Value.(ast.String) == ki {
				return false
			}
		}
	}
	return true
}

// number scans an RFC 8259 number and keeps its text.
func (d *decoder) number() (*ast.Term, error) {
	start := d.pos
	data := d.data
	if data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(data) && data[d.pos] == '0':
		d.pos++
	case d.pos < len(data) && data[d.pos] >= '1' && data[d.pos] <= '9':
		for d.pos < len(data) && data[d.pos] >= '0' && data[d.pos] <= '9' {
			d.pos++
		}
	default:
		return nil, d.unexpected("in numeric literal")
	}
	if d.pos < len(data) && data[d.pos] == '.' {
		d.pos++
		if d.pos >= len(data) || data[d.pos] < '0' || data[d.pos] > '9' {
			return nil, d.unexpected("after decimal point in numeric literal")
		}
		for d.pos < len(data) && data[d.pos] >= '0' && data[d.pos] <= '9' {
			d.pos++
		}
	}
	if d.pos < len(data) && (data[d.pos] == 'e' || data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(data) && (data[d.pos] == '+' || data[d.pos] == '-') {
			d.pos++
		}
		if d.pos >= len(data) || data[d.pos] < '0' || data[d.pos] > '9' {
			return nil, d.unexpected("in exponent of numeric literal")
		}
		for d.pos < len(data) && data[d.pos] >= '0' && data[d.pos] <= '9' {
			d.pos++
		}
	}
	if !d.build {
		return nil, nil
	}
	text := string(data[start:d.pos])
	if t := ast.InternedIntNumberTermFromString(text); t != nil {
		return t, nil
	}
	return ast.NewTerm(ast.Number(text)), nil
}

// str parses the string at d.pos ('"'), unescaped. The bytes are valid
// until the next call: a slice of the input when the string has no escape
// and no invalid UTF-8, else of the scratch buffer.
func (d *decoder) str() ([]byte, error) {
	d.pos++ // opening quote
	start := d.pos
	data := d.data
	for {
		i := d.pos
		for i < len(data) && plain[data[i]] {
			i++
		}
		d.pos = i
		if i >= len(data) {
			return nil, d.unexpected("in string literal")
		}
		switch c := data[i]; {
		case c == '"':
			d.pos++
			return data[start:i], nil
		case c == '\\':
			return d.slowStr(start)
		case c < 0x20:
			return nil, d.errorf("invalid character %q in string literal", c)
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return d.slowStr(start)
			}
			d.pos += size
		}
	}
}

// plain marks the bytes a string holds as they are: not the quote, the
// backslash, a control character or the start of a multi-byte rune.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// slowStr finishes a string with escapes or invalid UTF-8, from start (the
// byte after the opening quote); d.pos is where the plain prefix ends.
func (d *decoder) slowStr(start int) ([]byte, error) {
	data := d.data
	b := append(d.buf[:0], data[start:d.pos]...)
	for d.pos < len(data) {
		if plain[data[d.pos]] { // a run of plain bytes at once
			i := d.pos + 1
			for i < len(data) && plain[data[i]] {
				i++
			}
			b = append(b, data[d.pos:i]...)
			d.pos = i
			continue
		}
		c := data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.buf = b
			return b, nil
		case c == '\\':
			d.pos++
			if d.pos >= len(data) {
				return nil, d.unexpected("in string escape code")
			}
			e := data[d.pos]
			d.pos++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return nil, d.unexpected("in \\u hexadecimal character escape")
				}
				if utf16.IsSurrogate(r) {
					// A valid pair is one rune; anything else is U+FFFD
					// and the next escape is read on its own.
					if d.pos+1 < len(data) && data[d.pos] == '\\' && data[d.pos+1] == 'u' {
						save := d.pos
						d.pos += 2
						r2, ok2 := d.hex4()
						if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							continue
						}
						d.pos = save
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos--
				return nil, d.unexpected("in string escape code")
			}
		case c < 0x20:
			return nil, d.errorf("invalid character %q in string literal", c)
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, data[d.pos:d.pos+size]...)
			}
			d.pos += size
		}
	}
	return nil, d.unexpected("in string literal")
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	d.pos += 4
	return r, true
}

// Valid reports why data is not one JSON value that Decode would accept
// (nil when it is).
func Valid(data []byte) error {
	d := decoder{data: data}
	d.skipSpace()
	if _, err := d.value(); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.errorf("invalid character %q after top-level value", d.data[d.pos])
	}
	return nil
}

// Members calls fn with each member of the JSON object in data, in order:
// the key unescaped, the value as its raw bytes (a slice of data). The
// object's structure and keys are checked strictly; the values only for
// their extent (strings, brackets), so each is read once, by whichever
// decoder the caller gives it: a caller must decode or Valid every value
// it is given, kept or dropped, for all of data to be checked. An error
// from fn stops the walk.
func Members(data []byte, fn func(key string, raw []byte) error) error {
	d := decoder{data: data}
	d.skipSpace()
	if d.pos >= len(data) || data[d.pos] != '{' {
		return d.unexpected("looking for beginning of object")
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(data) && data[d.pos] == '}' {
		d.pos++
	} else {
		for {
			if d.pos >= len(data) || data[d.pos] != '"' {
				return d.unexpected("looking for beginning of object key string")
			}
			kb, err := d.str()
			if err != nil {
				return err
			}
			key := string(kb)
			d.skipSpace()
			if d.pos >= len(data) || data[d.pos] != ':' {
				return d.unexpected("after object key")
			}
			d.pos++
			d.skipSpace()
			start := d.pos
			if err := d.extent(); err != nil {
				return err
			}
			if err := fn(key, data[start:d.pos]); err != nil {
				return err
			}
			d.skipSpace()
			if d.pos < len(data) && data[d.pos] == ',' {
				d.pos++
				d.skipSpace()
				continue
			}
			if d.pos < len(data) && data[d.pos] == '}' {
				d.pos++
				break
			}
			return d.unexpected("after object key:value pair")
		}
	}
	d.skipSpace()
	if d.pos != len(data) {
		return d.errorf("invalid character %q after top-level value", data[d.pos])
	}
	return nil
}

// extent moves past the value at d.pos without checking it beyond its
// bounds: a string to its closing quote, an array or object to its
// matching bracket (brackets inside strings ignored), anything else to
// the next delimiter. A value it mis-bounds is invalid JSON, which the
// strict decoding of the pieces then rejects.
func (d *decoder) extent() error {
	data := d.data
	if d.pos >= len(data) || isDelim(data[d.pos]) {
		return d.unexpected("looking for beginning of value")
	}
	depth := 0
	for d.pos < len(data) {
		switch data[d.pos] {
		case '"':
			d.pos++
			for {
				i := d.pos
				for i < len(data) && data[i] != '"' && data[i] != '\\' {
					i++
				}
				if i >= len(data) {
					d.pos = i
					return d.unexpected("in string literal")
				}
				if data[i] == '\\' {
					d.pos = i + 2
					continue
				}
				d.pos = i + 1
				break
			}
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return d.errorf("nested deeper than %d levels", MaxDepth)
			}
			d.pos++
		case '}', ']':
			if depth == 0 {
				return d.unexpected("looking for beginning of value")
			}
			depth--
			d.pos++
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return nil
			}
			d.pos++
		default:
			d.pos++
		}
		if depth == 0 && (d.pos >= len(data) || isDelim(data[d.pos])) {
			return nil
		}
	}
	if depth > 0 {
		return d.unexpected("in array or object")
	}
	return nil
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
