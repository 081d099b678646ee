package redact

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "https://hooks.slack.com/services/REDACTED/REDACTED/REDACTED"},
		{"https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyzABCDEFGH", "https://discord.com/api/webhooks/REDACTED/REDACTED"},
		{"https://user:pa55@siem.example:8443/api/v1/alerts?token=abc&x=1#frag", "https://siem.example:8443/api/v1/alerts?REDACTED"},
		{"https://siem.example/hook", "https://siem.example/hook"},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000/"},
		{"https://x.example/ingest/5f2b9c1e", "https://x.example/ingest/REDACTED"},
		{"https://x.example/ingest?", "https://x.example/ingest?REDACTED"},
		{"not a url", "not%20a%20url"},
		{"https://u:p@host/%zz/secret", "https://host/REDACTED"},
		{"mailto:someone@example.com", "REDACTED"},
	}
	for _, tc := range tests {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`curl -H "Authorization: Bearer eyJhbGciOi.J9x.yz" https://api`, `curl -H "Authorization: REDACTED" https://api`},
		{`curl -H 'authorization: Basic dXNlcjpwYXNz' x`, `curl -H 'authorization: REDACTED' x`},
		{`token is Bearer abcdefgh1234`, `token is Bearer REDACTED`},
		{`mysql --password hunter2 -u root`, `mysql --password REDACTED -u root`},
		{`psql postgres://admin:s3cret@db:5432/x`, `psql postgres://REDACTED@db:5432/x`},
		{`env API_KEY=abc123 run`, `env API_KEY=REDACTED run`},
		{`x-api-key: k-123`, `x-api-key: REDACTED`},
		{`bash -c id`, `bash -c id`},
		{`password reset page`, `password reset page`},
		{``, ``},
	}
	for _, tc := range tests {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestEvidence(t *testing.T) {
	const secret = "c3VwZXJzZWNyZXQ=" // never to appear in the output
	tests := []struct {
		name     string
		in       string
		want     []string // substrings the output must hold
		wantGone []string // and must not
	}{
		{"secret create", `{"kind":"Event","auditID":"a1","verb":"create","objectRef":{"resource":"secrets","namespace":"ns","name":"db"},` +
			`"requestObject":{"kind":"Secret","metadata":{"name":"db","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"pw\":\"` + secret + `\"}}"}},"data":{"pw":"` + secret + `"},"stringData":{"user":"plain-secret-value"}},` +
			`"responseObject":{"kind":"Secret","metadata":{"name":"db"},"data":{"pw":"` + secret + `","user":"cGxhaW4="}}}`,
			[]string{`"resource":"secrets"`, `"name":"db"`, `"pw":"REDACTED"`, `"user":"REDACTED"`, `"auditID":"a1"`},
			[]string{secret, "plain-secret-value", "cGxhaW4="}},
		{"secret list", `{"auditID":"a2","objectRef":{"resource":"secrets","namespace":"ns"},"responseObject":{"kind":"SecretList","items":[{"metadata":{"name":"a"},"data":{"k":"` + secret + `"}}]}}`,
			[]string{`"name":"a"`, `"k":"REDACTED"`}, []string{secret}},
		{"token request", `{"auditID":"a3","objectRef":{"resource":"serviceaccounts","subresource":"token","namespace":"ns","name":"sa"},` +
			`"requestObject":{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":["x"]}},"responseObject":{"kind":"TokenRequest","status":{"token":"eyJtoken.payload.sig","expirationTimestamp":"x"}}}`,
			[]string{`"subresource":"token"`, `"kind":"TokenRequest"`, `"redacted":true`}, []string{"eyJtoken", "audiences"}},
		{"configmap", `{"auditID":"a4","objectRef":{"resource":"configmaps","name":"c"},"requestObject":{"data":{"k":"v-in-configmap"}}}`,
			[]string{`"k":"REDACTED"`}, []string{"v-in-configmap"}},
		{"headers anywhere", `{"auditID":"a5","objectRef":{"resource":"pods"},"requestObject":{"spec":{"containers":[{"env":[{"name":"X","value":"Bearer abcdef123456"}]}]}},"annotations":{"Authorization":"Bearer zzz9999"}}`,
			[]string{`"Authorization":"REDACTED"`, `"value":"Bearer REDACTED"`}, []string{"zzz9999", "abcdef123456"}},
		{"pod untouched", `{"auditID":"a6","objectRef":{"resource":"pods","name":"p"},"requestObject":{"data":{"k":"v"},"n":12345678901234567890}}`,
			[]string{`"data":{"k":"v"}`, `12345678901234567890`}, nil},
		{"falco line", `12:00:00 Notice curl -H "Authorization: Bearer tok-123456" (user=root)`,
			[]string{"Authorization: REDACTED"}, []string{"tok-123456"}},
		{"cut JSON", `{"auditID":"a7","objectRef":{"resource":"secrets"},"requestObject":{"data":{"pw":"` + secret + `"},"stringData":{"x":"abc`,
			[]string{`"data":"REDACTED"`}, []string{secret}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Evidence([]byte(tc.in)))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %s:\n%s", w, got)
				}
			}
			for _, w := range tc.wantGone {
				if strings.Contains(got, w) {
					t.Errorf("output still holds %s:\n%s", w, got)
				}
			}
			if json.Valid([]byte(tc.in)) && !json.Valid([]byte(got)) {
				t.Errorf("valid JSON in, invalid out:\n%s", got)
			}
		})
	}
}

// BenchmarkEvidence is the redaction's cost per alert for a typical pod
// creation audit event (nothing to redact) and a Secret list (redacted).
func BenchmarkEvidence(b *testing.B) {
	pod, err := os.ReadFile("../source/k8saudit/testdata/events/create-privileged-pod.json")
	if err != nil {
		b.Skip(err)
	}
	secret := []byte(`{"kind":"Event","auditID":"a","verb":"list","objectRef":{"resource":"secrets","namespace":"ns"},"responseObject":{"kind":"SecretList","items":[{"metadata":{"name":"a"},"data":{"k":"c2VjcmV0"}},{"metadata":{"name":"b"},"data":{"k":"c2VjcmV0","l":"c2VjcmV0"}}]}}`)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{{"pod", pod}, {"secrets", secret}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evidence(tc.raw)
			}
		})
	}
}

// TestEvidencePrefilter: the prefilter never lets through a record the
// full path would change (checked on every corpus seed and a few sneaky
// spellings), and lets a plain audit record through unchanged.
func TestEvidencePrefilter(t *testing.T) {
	plain := []byte(`{"kind":"Event","auditID":"a1","stage":"ResponseComplete","verb":"get","objectRef":{"resource":"pods","namespace":"default","name":"web"},"user":{"username":"alice"}}`)
	if mayHoldSecret(plain) {
		t.Error("plain audit record sent down the full path")
	}
	if got := Evidence(plain); string(got) != string(plain) {
		t.Errorf("plain record changed: %s", got)
	}
	for _, rec := range []string{
		`{"p_a_s_s_w_o_r_d":"hunter2"}`, `{"Set-Cookie":"s=1"}`, `{"x":"\u0074oken=abc"}`, `{"u":"https://u:p@h/x"}`,
		`{"auditID":"a","objectRef":{"resource":"configmaps"},"requestObject":{"data":{"k":"v"}}}`,
		`{"auditID":"a","objectRef":{"resource":"secrets"},"requestObject":{"data":{"k":"v"}}}`,
	} {
		if !mayHoldSecret([]byte(rec)) {
			t.Errorf("prefilter lets %s through", rec)
		}
	}
}

// TestTokenClaimingRedacted: a TokenRequest body that claims to be
// redacted but carries a token is redacted all the same.
func TestTokenClaimingRedacted(t *testing.T) {
	rec := `{"auditID":"a","objectRef":{"resource":"serviceaccounts","subresource":"token"},"responseObject":{"redacted":true,"status":{"token":"eyJsecretpart"}}}`
	if out := string(Evidence([]byte(rec))); strings.Contains(out, "eyJsecretpart") {
		t.Errorf("token survived: %s", out)
	}
}
