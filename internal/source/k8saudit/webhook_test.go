package k8saudit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

func eventList(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/eventlist.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookHandler(t *testing.T) {
	list := eventList(t)
	tests := []struct {
		name      string
		method    string
		token     string
		body      []byte
		want      int
		events    int
		malformed uint64
		filtered  uint64
		dropped   uint64
	}{
		{"good batch", "POST", "s3cret", list, 200, 2, 1, 1, 0},
		{"any path, second token", "POST", "other", list, 200, 2, 1, 1, 0},
		{"no token", "POST", "", list, 401, 0, 0, 0, 0},
		{"wrong token", "POST", "s3cre", list, 401, 0, 0, 0, 0},
		{"GET", "GET", "s3cret", nil, 405, 0, 0, 0, 0},
		{"truncated JSON", "POST", "s3cret", list[:len(list)/2], 400, 0, 1, 0, 0},
		{"not a list", "POST", "s3cret", []byte(`{"kind":"Event"}`), 400, 0, 1, 0, 0},
		{"over the limit", "POST", "s3cret", append(bytes.Repeat([]byte(" "), 1<<20), list...), 413, 0, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWebhook(WebhookOptions{Tokens: []string{"s3cret", "other"}, Cluster: "prod", MaxBodyBytes: 1 << 20,
				Insecure: true, Addr: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			var got []*event.Event
			h := w.Handler(func(e *event.Event) { got = append(got, e) })
			req := httptest.NewRequest(tc.method, "/audit/"+strings.ReplaceAll(tc.name, " ", "-"), bytes.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body)
			}
			if len(got) != tc.events {
				t.Fatalf("%d events, want %d", len(got), tc.events)
			}
			for _, e := range got {
				if e.Cluster != "prod" {
					t.Errorf("cluster %q", e.Cluster)
				}
			}
			if tc.events == 2 && (got[0].K8s.Resource != "clusterrolebindings" || got[1].K8s.Subresource != "exec") {
				t.Errorf("events out of order: %s, %s", got[0].K8s.Resource, got[1].K8s.Subresource)
			}
			st := w.Stats()
			if st.Events != uint64(tc.events) || st.Malformed != tc.malformed || st.Filtered != tc.filtered || st.Dropped != tc.dropped {
				t.Errorf("stats %+v, want events %d malformed %d filtered %d dropped %d", st, tc.events, tc.malformed, tc.filtered, tc.dropped)
			}
		})
	}
}

// pki writes a CA, a server certificate for 127.0.0.1 and a client
// certificate (as the API server's webhook kubeconfig would hold) to dir.
type pki struct {
	caFile, certFile, keyFile string
	client                    tls.Certificate
	pool                      *x509.CertPool
}

func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = write("ca.crt", "CERTIFICATE", caDER)
	srvDER, srvKey := leaf(2, "bulwark", x509.ExtKeyUsageServerAuth)
	p.certFile = write("tls.crt", "CERTIFICATE", srvDER)
	kb, _ := x509.MarshalECPrivateKey(srvKey)
	p.keyFile = write("tls.key", "EC PRIVATE KEY", kb)
	cliDER, cliKey := leaf(3, "kube-apiserver", x509.ExtKeyUsageClientAuth)
	p.client = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	return p
}

// TestWebhookTLS serves the receiver over real TLS and posts batches
// authenticated by token and by client certificate, as the API server does.
func TestWebhookTLS(t *testing.T) {
	p := newPKI(t, t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWebhook(WebhookOptions{Listener: ln, CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile, Tokens: []string{"tok"}, Cluster: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	run := runWebhook(t, w)
	url := "https://" + ln.Addr().String() + "/"
	post := func(certs []tls.Certificate, token string) int {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: certs}}}
		req, _ := http.NewRequest("POST", url, bytes.NewReader(eventList(t)))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(nil, "tok"); code != 200 {
		t.Errorf("token: status %d", code)
	}
	if code := post([]tls.Certificate{p.client}, ""); code != 200 {
		t.Errorf("client certificate: status %d", code)
	}
	if code := post(nil, ""); code != 401 {
		t.Errorf("anonymous: status %d, want 401", code)
	}
	got := run.stop(t)
	if len(got) != 4 || w.Stats().Events != 4 {
		t.Fatalf("%d events (stats %+v), want 4", len(got), w.Stats())
	}
	if got[0].Cluster != "c1" || !strings.HasPrefix(got[0].K8s.AuditID, "8d1c2b3a") {
		t.Errorf("first event %+v", got[0].K8s)
	}
}

// BenchmarkWebhook is the handler's cost per event for 100-event batches.
func BenchmarkWebhook(b *testing.B) {
	var items []string
	for _, name := range []string{"create-privileged-pod", "get-secret-forbidden", "exec-into-pod", "impersonated-clusterrolebinding"} {
		data, _ := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
		items = append(items, strings.TrimSpace(string(data)))
	}
	var body strings.Builder
	body.WriteString(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`)
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(items[i%len(items)])
	}
	body.WriteString("]}")
	data := []byte(body.String())
	w, err := NewWebhook(WebhookOptions{Insecure: true, Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	h := w.Handler(func(*event.Event) {})
	b.ReportAllocs()
	cpu := sourcetest.StartThreadCPU(b)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/", bytes.NewReader(data)))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
	cpu.Stop(100, "event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}

// webhookRun is a receiver running in the background for a test.
type webhookRun struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	got    []*event.Event
}

// runWebhook runs w until stop, collecting what it emits.
func runWebhook(t *testing.T, w *Webhook) *webhookRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &webhookRun{cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- w.Run(ctx, func(e *event.Event) { r.mu.Lock(); r.got = append(r.got, e); r.mu.Unlock() })
	}()
	return r
}

// stop ends the receiver, fails the test if Run failed, and returns the
// events it emitted.
func (r *webhookRun) stop(t *testing.T) []*event.Event {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}
