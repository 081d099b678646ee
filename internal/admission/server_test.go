package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial to certFile/keyFile and returns it for the client's trust pool.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "bulwark-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func startServer(t *testing.T, o Options) (addr string, stop func() error) {
	t.Helper()
	if o.DrainDelay == 0 {
		o.DrainDelay = -1
	}
	s, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	return ln.Addr().String(), func() error { cancel(); return <-done }
}

func client(certs ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
	}}
}

func servedSerial(t *testing.T, c *http.Client, url string) int64 {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

func TestServerEndpointsAndCertReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	c1 := writeCert(t, certFile, keyFile, 1)
	addr, stop := startServer(t, Options{CertFile: certFile, KeyFile: keyFile, Handler: HandlerOptions{Evaluator: &fakeEvaluator{}}})
	base := "https://" + addr
	cl := client(c1)

	for _, p := range []string{PathHealthz, PathReadyz} {
		resp, err := cl.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	resp, err := cl.Post(base+PathValidate, "application/json", strings.NewReader(string(readFile(t, "privileged-pod.json"))))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST validate: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = cl.Get(base + PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`bulwark_admission_requests_total{decision="deny"} 1`, `bulwark_admission_review_duration_seconds_count 1`, `le="+Inf"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
	if got := servedSerial(t, cl, base+PathHealthz); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}

	// Rotate: new files (mtime forced forward, in case of a coarse clock).
	c2 := writeCert(t, certFile, keyFile, 2)
	later := time.Now().Add(time.Minute)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := servedSerial(t, client(c1, c2), base+PathHealthz); got != 2 {
		t.Errorf("after rotation serial %d, want 2", got)
	}

	// A broken key file keeps the last good pair in service.
	if err := os.WriteFile(keyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, client(c1, c2), base+PathHealthz); got != 2 {
		t.Errorf("with a broken key serial %d, want 2 still", got)
	}

	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestNewServerNeedsCert(t *testing.T) {
	if _, err := NewServer(Options{Handler: HandlerOptions{Evaluator: &fakeEvaluator{}}}); err == nil {
		t.Error("no error without certificate files")
	}
	dir := t.TempDir()
	if _, err := NewServer(Options{CertFile: filepath.Join(dir, "a"), KeyFile: filepath.Join(dir, "b"), Handler: HandlerOptions{Evaluator: &fakeEvaluator{}}}); err == nil {
		t.Error("no error for missing certificate files")
	}
}

// TestServerHTTP2Opt: HTTP/1.1 unless Options.HTTP2, for a client that
// prefers HTTP/2 as the API server's does.
func TestServerHTTP2Opt(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		cert := writeCert(t, certFile, keyFile, 1)
		addr, stop := startServer(t, Options{CertFile: certFile, KeyFile: keyFile, HTTP2: h2, Handler: HandlerOptions{Evaluator: keyEvaluator{}}})
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
		resp, err := c.Get("https://" + addr + PathHealthz)
		if err != nil {
			t.Fatalf("HTTP2=%v: %v", h2, err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
			t.Errorf("HTTP2=%v: served %s, want HTTP/%d", h2, resp.Proto, want)
		}
		c.CloseIdleConnections()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}
