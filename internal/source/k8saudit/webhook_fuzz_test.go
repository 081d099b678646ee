package k8saudit

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// FuzzWebhookRequest drives the receiver's request path (authentication,
// method, size cap, decoding, emission) with any method, Authorization
// header and body. Whatever comes in: no panic, a status from the
// documented set, events only from an authenticated 200, and every request
// counted once per source.
func FuzzWebhookRequest(f *testing.F) {
	list, err := os.ReadFile("testdata/eventlist.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "Bearer s3cret", list)
	f.Add("POST", "Bearer wrong", list)
	f.Add("POST", "", list)
	f.Add("GET", "Bearer s3cret", []byte(nil))
	f.Add("POST", "Bearer s3cret", []byte(`{"kind":"EventList","items":[{}]}`))
	f.Add("POST", "Bearer s3cret", bytes.Repeat([]byte("["), 5000))
	f.Add("POST", "bearer s3cret", list[:len(list)/2])
	events, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range events {
		b, _ := os.ReadFile(p)
		f.Add("POST", "Bearer s3cret", append(append([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`), b...), ']', '}'))
	}
	f.Fuzz(func(t *testing.T, method, authz string, body []byte) {
		if !validMethod(method) {
			return // net/http refuses to build such a request before a handler sees it
		}
		w, err := NewWebhook(WebhookOptions{Addr: "127.0.0.1:0", Insecure: true, Tokens: []string{"s3cret", "other"}, MaxBodyBytes: 32 << 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []*event.Event
		h := w.Handler(func(e *event.Event) { got = append(got, e) })
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Method = method
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 405, 413:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		authed := authz == "Bearer s3cret" || authz == "Bearer other"
		if rec.Code != 200 && len(got) > 0 {
			t.Fatalf("status %d but %d events emitted", rec.Code, len(got))
		}
		if !authed && rec.Code != 401 {
			t.Fatalf("unauthenticated request (Authorization %q) answered %d", authz, rec.Code)
		}
		if int64(len(body)) > 32<<10 && rec.Code == 200 {
			t.Fatalf("a %d-byte body over the 32 KiB cap was accepted", len(body))
		}
		if uint64(len(got)) != w.Stats().Events {
			t.Fatalf("%d events emitted, %d counted", len(got), w.Stats().Events)
		}
		var n uint64
		for _, b := range w.Batches() {
			n += b.Accepted + b.Refused + b.Dropped
		}
		if n != 1 {
			t.Fatalf("one request counted %d times: %+v", n, w.Batches())
		}
	})
}

// validMethod is net/http's token rule for a method.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`()<>@,;:\"/[]?={}`), c) >= 0 {
			return false
		}
	}
	return true
}
