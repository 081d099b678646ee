package k8saudit

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestNewWebhookSecureByDefault: without TLS and an authenticator the
// receiver refuses to start, unless told Insecure, and then only on a
// loopback address.
func TestNewWebhookSecureByDefault(t *testing.T) {
	p := newPKI(t, t.TempDir())
	tests := []struct {
		name string
		opts WebhookOptions
		ok   bool
	}{
		{"nothing", WebhookOptions{Addr: "127.0.0.1:8443"}, false},
		{"token without TLS", WebhookOptions{Addr: "127.0.0.1:8443", Tokens: []string{"t"}}, false},
		{"TLS without authenticator", WebhookOptions{Addr: ":8443", CertFile: p.certFile, KeyFile: p.keyFile}, false},
		{"TLS and token", WebhookOptions{Addr: ":8443", CertFile: p.certFile, KeyFile: p.keyFile, Tokens: []string{"t"}}, true},
		{"TLS and client CA", WebhookOptions{Addr: ":8443", CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile}, true},
		{"insecure on all interfaces", WebhookOptions{Addr: ":8443", Insecure: true}, false},
		{"insecure on 0.0.0.0", WebhookOptions{Addr: "0.0.0.0:8443", Insecure: true}, false},
		{"insecure on a routable address", WebhookOptions{Addr: "10.1.2.3:8443", Insecure: true, Tokens: []string{"t"}}, false},
		{"insecure on a name", WebhookOptions{Addr: "example.com:8443", Insecure: true}, false},
		{"insecure on 127.0.0.1", WebhookOptions{Addr: "127.0.0.1:8443", Insecure: true}, true},
		{"insecure on ::1", WebhookOptions{Addr: "[::1]:8443", Insecure: true}, true},
		{"insecure with TLS on all interfaces", WebhookOptions{Addr: ":8443", Insecure: true, CertFile: p.certFile, KeyFile: p.keyFile}, false},
		{"empty token", WebhookOptions{Addr: ":8443", CertFile: p.certFile, KeyFile: p.keyFile, Tokens: []string{""}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewWebhook(tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("NewWebhook: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && tc.name != "empty token" && !errors.Is(err, ErrInsecure) {
				t.Errorf("error %v is not ErrInsecure", err)
			}
		})
	}
}

// TestWebhookLimits serves the receiver over real TLS with a token and
// sends what an attacker or a flood would: forged unauthenticated batches,
// an oversized one, and more concurrent requests than the cap. Nothing of
// them is emitted; each is answered and counted per source.
func TestWebhookLimits(t *testing.T) {
	p := newPKI(t, t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const limit = 64 << 10
	w, err := NewWebhook(WebhookOptions{Listener: ln, CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile,
		Tokens: []string{"first", "second"}, MaxBodyBytes: limit, MaxConcurrent: 2})
	if err != nil {
		t.Fatal(err)
	}
	run := runWebhook(t, w)
	url := "https://" + ln.Addr().String() + "/"
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: certs}}}
	}
	post := func(c *http.Client, token string, body io.Reader) int {
		t.Helper()
		req, _ := http.NewRequest("POST", url, body)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	list := eventList(t)
	anon := client()
	for _, tok := range []string{"", "firs", "FIRST", "Bearer first", "secondx"} {
		if code := post(anon, tok, bytes.NewReader(list)); code != http.StatusUnauthorized {
			t.Errorf("token %q: HTTP %d, want 401", tok, code)
		}
	}
	if code := post(anon, "second", bytes.NewReader(append(bytes.Repeat([]byte(" "), limit), list...))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: HTTP %d, want 413", code)
	}
	// A chunked body (no Content-Length) over the limit is cut while read.
	if code := post(anon, "second", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte(" "), limit)), bytes.NewReader(list))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked: HTTP %d, want 413", code)
	}

	// Two slow senders hold both slots; a third is answered 429 at once.
	var slow []*io.PipeWriter
	var slowWG sync.WaitGroup
	slowCodes := make([]int, 2)
	for i := range 2 {
		pr, pw := io.Pipe()
		slow = append(slow, pw)
		slowWG.Add(1)
		go func() {
			defer slowWG.Done()
			slowCodes[i] = post(client(), "first", pr)
		}()
		pw.Write(list[:10])
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(w.sem) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	req, _ := http.NewRequest("POST", url, bytes.NewReader(list))
	req.Header.Set("Authorization", "Bearer first")
	resp, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third concurrent request: HTTP %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, pw := range slow {
		pw.Write(list[10:])
		pw.Close()
	}
	slowWG.Wait()
	if slowCodes[0] != 200 || slowCodes[1] != 200 {
		t.Errorf("slow senders: HTTP %v, want 200 200", slowCodes)
	}
	if code := post(client(p.client), "", bytes.NewReader(list)); code != 200 {
		t.Errorf("client certificate: HTTP %d", code)
	}
	got := run.stop(t)
	if len(got) != 6 {
		t.Errorf("%d events emitted, want 6 (three accepted batches of two)", len(got))
	}
	st := w.Stats()
	if st.Dropped != 3 {
		t.Errorf("stats %+v, want 3 dropped batches (two over the size, one over the concurrency)", st)
	}
	want := []BatchCounts{
		{Source: "addr:127.0.0.1", Refused: 5},
		{Source: "cert:kube-apiserver", Accepted: 1},
		{Source: "token:1", Accepted: 2, Dropped: 1},
		{Source: "token:2", Dropped: 2},
	}
	if b := w.Batches(); !slices.Equal(b, want) {
		t.Errorf("batches per source\n got %+v\nwant %+v", b, want)
	}
}
