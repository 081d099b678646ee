package jsonast

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// reference decodes valid data as the engine did before this package:
// encoding/json with UseNumber, then ast.InterfaceToValue.
func reference(data []byte) (ast.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(v)
}

// same reports whether Decode agrees with encoding/json on data: both
// reject it, or both accept it with equal values.
func same(t testing.TB, data []byte) {
	t.Helper()
	got, err := Decode(data)
	valid := json.Valid(data)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Decode(%q): error %v is not a *SyntaxError", data, err)
		}
		if valid && !strings.Contains(err.Error(), "nested deeper") {
			t.Fatalf("Decode(%q) = %v; encoding/json accepts it", data, err)
		}
		return
	}
	if !valid {
		t.Fatalf("Decode(%q) accepted input encoding/json rejects", data)
	}
	want, werr := reference(data)
	if werr != nil {
		// ast.InterfaceToValue refuses numbers beyond float64
		// (1e70000); Decode keeps their text, as ast.Number allows.
		return
	}
	if got.Compare(want) != 0 {
		t.Fatalf("Decode(%q) = %v, want %v", data, got, want)
	}
	without, err := DecodeWithout(data, "metadata", "managedFields")
	if err != nil {
		t.Fatalf("DecodeWithout(%q): %v, but Decode accepts it", data, err)
	}
	if obj, ok := want.(ast.Object); ok {
		if mt := obj.Get(ast.StringTerm("metadata")); mt != nil {
			md, _ := mt.Value.(ast.Object)
			if md == nil {
				md = ast.NewObject() // not an object: compare as is below
			}
			trimmed := ast.NewObject()
			md.Foreach(func(k, v *ast.Term) {
				if !k.Equal(ast.StringTerm("managedFields")) {
					trimmed.Insert(k, v)
				}
			})
			if _, isObj := mt.Value.(ast.Object); isObj {
				obj = obj.Copy()
				obj.Insert(ast.StringTerm("metadata"), ast.NewTerm(trimmed))
				want = obj
			}
		}
	}
	if without.Compare(want) != 0 {
		t.Fatalf("DecodeWithout(%q) = %v, want %v", data, without, want)
	}
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `12345678901234567890`, `-1.0E+2`,
		`"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ud83d\u0041"`, `"\ude00\ud83d"`, "\"bad \xff utf8\"", "\"cut \xe4\xb8\"",
		` { "a" : [ 1 , { "b" : null } ] , "a" : 2 } `,
		`{"metadata":{"name":"x","managedFields":[{"manager":"kubectl"}],"labels":{"managedFields":1}},"managedFields":2}`,
		`{"metadata":[{"managedFields":1}]}`, `{"metadata":{"managed\u0046ields":1,"n":"\u00e9"}}`, `{"metadata":1}`,
		`{"metadata":{"managedFields":1},"metadata":{"managedFields":2,"a":3}}`, `{"kind":"Pod","spec":{"containers":[{"name":"a","image":"x"}]}}`,
		`{"":""}`, `[[[[[]]]]]`,
		// rejected
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `0x1`,
		`tru`, `nul`, `"unterminated`, "\"ctl \x01\"", `"\x"`, `"\u12"`, `"\uZZZZ"`, `1 2`, `{} x`,
		`NaN`, `[1 2]`, `"\`, `'a'`,
	} {
		t.Run(in, func(t *testing.T) { same(t, []byte(in)) })
	}
}

func TestDecodeDepth(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Decode([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("Decode of %d nested arrays: %v, want a depth error", MaxDepth+1, err)
	}
	ok := strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth)
	if _, err := Decode([]byte(ok)); err != nil {
		t.Fatalf("Decode of %d nested objects: %v", MaxDepth, err)
	}
}

func TestDecodeSharesCommonStrings(t *testing.T) {
	v, err := Decode([]byte(`[{"image":"a"},{"image":"b"}]`))
	if err != nil {
		t.Fatal(err)
	}
	arr := v.(*ast.Array)
	k1 := arr.Elem(0).Value.(ast.Object).Keys()[0]
	k2 := arr.Elem(1).Value.(ast.Object).Keys()[0]
	if k1 != k2 {
		t.Errorf("the key image decoded to two terms; want one shared")
	}
}

func TestMembers(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // key=raw
		wantErr bool
	}{
		{`{}`, nil, false},
		{` {"a": 1, "b" : {"c":[1, 2]}, "\u0041": "x"} `, []string{`a=1`, `b={"c":[1, 2]}`, `A="x"`}, false},
		{`{"a":1,"a":2}`, []string{`a=1`, `a=2`}, false},
		{`[1]`, nil, true},
		{`null`, nil, true},
		{`{"a":01}`, []string{`a=01`}, false}, // values are only bounded: Valid rejects 01
		{`{"a":}`, nil, true},
		{`{"a":"x}`, nil, true},
		{`{"a":[1,{"b":"]"}]}`, []string{`a=[1,{"b":"]"}]`}, false},
		{`{"a":1} {}`, nil, true},
		{`{"a":1,}`, nil, true},
	}
	for _, tt := range tests {
		var got []string
		err := Members([]byte(tt.in), func(k string, raw []byte) error {
			got = append(got, k+"="+string(raw))
			return nil
		})
		if (err != nil) != tt.wantErr {
			t.Errorf("Members(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Members(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	stop := errors.New("stop")
	if err := Members([]byte(`{"a":1,"b":2}`), func(string, []byte) error { return stop }); err != stop {
		t.Errorf("Members did not return the callback's error: %v", err)
	}
}

// FuzzDecode: Decode accepts exactly what encoding/json accepts (within
// MaxDepth) and decodes it to the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",null,true]}`, `"\ud83d\ude00"`, "\"\xff\"", `1e5`, `{"a":1,"a":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { same(t, data) })
}

// FuzzMembers: Members, with Valid on every value, accepts exactly the
// objects encoding/json accepts, and sees every member.
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","request":{"uid":"x","object":{}}}`))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte(`{"a":"\"]}","b":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]json.RawMessage
		jerr := json.Unmarshal(data, &m)
		n := 0
		var verr error
		err := Members(data, func(k string, raw []byte) error {
			n++
			if e := Valid(raw); e != nil && verr == nil {
				verr = e
			}
			return nil
		})
		if err == nil {
			err = verr
		}
		if (err == nil) != (jerr == nil && m != nil) && !strings.Contains(errString(err), "nested deeper") {
			t.Fatalf("Members(%q) error %v, encoding/json error %v", data, err, jerr)
		}
		if err == nil && n < len(m) {
			t.Fatalf("Members(%q) saw %d members, encoding/json %d", data, n, len(m))
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
