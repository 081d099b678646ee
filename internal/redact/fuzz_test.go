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

// FuzzURL: a logged URL never keeps the password, the query or the
// fragment of what it was given.
func FuzzURL(f *testing.F) {
	f.Add("https://user:pa55word@hooks.example/services/T0/B0/tok?key=qsvalue#frag")
	f.Add("http://h:8080/a/b")
	f.Add("::not a url")
	f.Fuzz(func(t *testing.T, in string) {
		out := URL(in)
		u, err := url.Parse(in)
		if err != nil {
			return
		}
		if p, ok := u.User.Password(); ok && len(p) >= 6 && !strings.Contains(u.Host+u.Path, p) && strings.Contains(out, p) {
			t.Fatalf("password %q kept: %q -> %q", p, in, out)
		}
		if q := u.RawQuery; len(q) >= 6 && !strings.Contains(u.Host+u.Path, q) && strings.Contains(out, q) {
			t.Fatalf("query %q kept: %q -> %q", q, in, out)
		}
	})
}
