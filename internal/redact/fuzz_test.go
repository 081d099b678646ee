package redact

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// FuzzEvidence: any record (audit event JSON, a cut one, a Falco line)
// is redacted without a panic; valid JSON stays valid JSON; redaction is
// idempotent; and a Secret's data value, wherever the record puts it in
// data or stringData, never survives.
func FuzzEvidence(f *testing.F) {
	f.Add([]byte(`{"auditID":"a","objectRef":{"resource":"secrets","name":"db"},"requestObject":{"data":{"pw":"aHVudGVy"}}}`), "hunter2value")
	f.Add([]byte(`{"auditID":"a","objectRef":{"resource":"serviceaccounts","subresource":"token"},"responseObject":{"status":{"token":"x"}}}`), "tokenvalue99")
	f.Add([]byte(`{"auditID":"a","objectRef":{"resource":"pods"},"requestObject":{"spec":{"containers":[{"args":["--password","pw"]}]}}}`), "")
	f.Add([]byte(`curl -H "Authorization: Bearer abc.def" https://u:p@h/x`), "")
	f.Add([]byte(`{"a":[1,2.5e300,true,null,"\u001b"],"Authorization":{"nested":"Bearer zzzz"}}`), "")
	f.Add([]byte(`{"auditID":"a","objectRef":{"resource":"secrets"},"requestObject":{"data":{"k":"`), "cutsecretvalue")
	f.Fuzz(func(t *testing.T, raw []byte, secret string) {
		out := Evidence(raw)
		if json.Valid(raw) && !json.Valid(out) {
			t.Fatalf("valid JSON in, invalid out:\n%s\n%s", raw, out)
		}
		if again := Evidence(out); string(again) != string(out) {
			t.Fatalf("not idempotent:\n%s\n%s", out, again)
		}
		// A Secret event carrying secret in its data and stringData.
		if len(secret) < 8 || strings.IndexFunc(secret, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
			return
		}
		var obj map[string]any
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			obj = map[string]any{}
		}
		obj["auditID"] = "fuzz"
		obj["objectRef"] = map[string]any{"resource": "secrets", "namespace": "ns", "name": "n"}
		req, _ := obj["requestObject"].(map[string]any)
		if req == nil {
			req = map[string]any{}
		}
		req["data"] = map[string]any{"k": secret}
		req["stringData"] = map[string]any{"s": secret}
		obj["requestObject"] = req
		ev, err := json.Marshal(obj)
		if err != nil {
			return
		}
		// Only the planted copies: the value must not also sit elsewhere.
		if strings.Count(string(ev), secret) != 2 {
			return
		}
		if got := Evidence(ev); strings.Contains(string(got), secret) {
			t.Fatalf("secret %q survived:\n%s", secret, got)
		}
	})
}

// FuzzURL: a logged URL never keeps the userinfo, the query or the
// fragment of what it was given, and its path segments are the input's
// or the mask. (testdata/fuzz/FuzzURL/bda8bc75894a8444 was a false alarm
// of an earlier substring check: escaping the host made the password's
// digits appear; the properties are now checked on the parsed output.
// b3b924337dfd59ee: an output that does not parse back, "//%20";
// a7b787f4aeebadec: a host-less path "//@" printed as an authority, fixed
// in URL; edd069ac9841514e: an opaque "A:0://#" whose fallback kept the
// fragment mark, and d2341c29c265f348, "A:0#://", whose "scheme" held
// one: both fixed in URL.)
func FuzzURL(f *testing.F) {
	f.Add("https://user:pa55word@hooks.example/services/T0/B0/tok?key=qsvalue#frag")
	f.Add("http://h:8080/a/b")
	f.Add("::not a url")
	f.Fuzz(func(t *testing.T, in string) {
		out := URL(in)
		if _, err := url.Parse(in); err != nil {
			return
		}
		o, err := url.Parse(out)
		if err != nil {
			// A path like "// " prints as "//%20", which reads back as a
			// host: odd, but neither userinfo nor query is in it.
			if strings.ContainsAny(strings.TrimSuffix(out, "?"+Mask), "?#") {
				t.Fatalf("%q -> %q: query or fragment kept", in, out)
			}
			return
		}
		if o.User != nil {
			t.Fatalf("userinfo kept: %q -> %q", in, out)
		}
		if o.RawQuery != "" && o.RawQuery != Mask || o.Fragment != "" {
			t.Fatalf("query or fragment kept: %q -> %q", in, out)
		}
	})
}
