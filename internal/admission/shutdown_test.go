package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/policy"
	admissionv1 "k8s.io/api/admission/v1"
)

// lockedBuffer is a log destination shared by the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testEvaluator is the real engine with every built-in policy, made slower
// (delay, ignoring ctx as a stuck evaluation would not) and, for objects
// named panic-*, panicking: the test-only failure of a policy.
type testEvaluator struct {
	eng   *policy.Engine
	delay time.Duration
}

func (e testEvaluator) EvaluateDocument(ctx context.Context, doc *policy.Document) (policy.Result, error) {
	if strings.HasPrefix(doc.Metadata("name"), "panic-") {
		var m map[string]int
		m["boom"]++ // a nil-map write: a real runtime panic
	}
	if e.delay > 0 {
		time.Sleep(e.delay)
	}
	return e.eng.EvaluateDocument(ctx, doc)
}

// reviewBodies are the test's AdmissionReviews: a compliant Deployment
// (allowed) and a privileged Pod (denied by BW-PSS-PRIVILEGED), each also
// renamed panic-* when panics is set.
func reviewBodies(t *testing.T, panics bool) (bodies [][]byte, allowed []bool, panicking []bool) {
	t.Helper()
	for file, allow := range map[string]bool{"compliant-deployment.json": true, "privileged-pod.json": false} {
		b := readFile(t, file)
		bodies, allowed, panicking = append(bodies, b), append(allowed, allow), append(panicking, false)
		if panics {
			var rev map[string]any
			if err := json.Unmarshal(b, &rev); err != nil {
				t.Fatal(err)
			}
			md := rev["request"].(map[string]any)["object"].(map[string]any)["metadata"].(map[string]any)
			md["name"] = "panic-" + fmt.Sprint(md["name"])
			pb, _ := json.Marshal(rev)
			bodies, allowed, panicking = append(bodies, pb), append(allowed, false), append(panicking, true)
		}
	}
	return bodies, allowed, panicking
}

type loadResult struct {
	sent, wrong, failed, transport atomic.Int64
	firstWrong                     atomic.Value
}

// sendReviews posts bodies round robin from n goroutines, as the API
// server does (keep-alive pool, ?timeout=5s), until stop is closed.
func sendReviews(c *http.Client, url string, n int, bodies [][]byte, allowed, panicking []bool, failOpen bool, stop <-chan struct{}, res *loadResult) *sync.WaitGroup {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(next.Add(1)) % len(bodies)
				res.sent.Add(1)
				resp, err := c.Post(url+PathValidate+"?timeout=5s", "application/json", bytes.NewReader(bodies[i]))
				if err != nil {
					res.transport.Add(1)
					res.firstWrong.CompareAndSwap(nil, "transport: "+err.Error())
					continue
				}
				var rev admissionv1.AdmissionReview
				err = json.NewDecoder(resp.Body).Decode(&rev)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || rev.Response == nil {
					res.wrong.Add(1)
					res.firstWrong.CompareAndSwap(nil, fmt.Sprintf("HTTP %d, decode: %v", resp.StatusCode, err))
					continue
				}
				r := rev.Response
				isFailure := r.Result != nil && r.Result.Code == http.StatusInternalServerError || len(r.Warnings) > 0 && strings.Contains(r.Warnings[0], "not checked")
				if isFailure {
					res.failed.Add(1)
				}
				want := allowed[i]
				if panicking[i] {
					want = failOpen
				}
				if r.Allowed != want || panicking[i] != isFailure {
					res.wrong.Add(1)
					res.firstWrong.CompareAndSwap(nil, fmt.Sprintf("body %d: allowed %v, result %+v, warnings %q", i, r.Allowed, r.Result, r.Warnings))
				}
			}
		}()
	}
	return &wg
}

func apiServerClient(cert *x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 25,
	}}
}

// TestServerGracefulShutdown: SIGTERM (ctx ending) during a load of
// reviews that each take 200 ms. Readiness fails at once; the server goes
// on serving through the drain delay; the reviews in flight when the
// listener closes finish on their own deadline. No review is denied or
// failed for the shutdown, and none is lost while the server still serves.
func TestServerGracefulShutdown(t *testing.T) {
	eng, err := policy.New(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	cert := writeCert(t, certFile, keyFile, 1)
	const drain = time.Second
	s, err := NewServer(Options{CertFile: certFile, KeyFile: keyFile, DrainDelay: drain, ShutdownTimeout: 5 * time.Second,
		Handler: HandlerOptions{Evaluator: testEvaluator{eng: eng, delay: 200 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + ln.Addr().String()
	ctx, sigterm := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()

	c := apiServerClient(cert)
	bodies, allowed, panicking := reviewBodies(t, false)
	var res loadResult
	stop := make(chan struct{})
	wg := sendReviews(c, url, 16, bodies, allowed, panicking, false, stop, &res)
	time.Sleep(time.Second)
	sigterm()
	termAt := time.Now()
	// Readiness fails first, while reviews are still served.
	probe := client(cert)
	resp, err := probe.Get(url + PathReadyz)
	if err != nil {
		t.Fatalf("readyz during the drain: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz after SIGTERM: HTTP %d, want 503", resp.StatusCode)
	}
	// The load goes on until shortly before the drain delay ends (the
	// endpoints have moved by then); the last reviews are in flight when
	// the listener closes.
	time.Sleep(drain - 100*time.Millisecond)
	close(stop)
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatalf("ServeListener: %v", err)
	}
	if took := time.Since(termAt); took < drain {
		t.Errorf("stopped %s after SIGTERM, before the drain delay %s", took, drain)
	}
	t.Logf("%d reviews sent, %d failed for the shutdown, %d wrong, %d transport errors", res.sent.Load(), res.failed.Load(), res.wrong.Load(), res.transport.Load())
	if res.sent.Load() < 50 {
		t.Errorf("only %d reviews sent", res.sent.Load())
	}
	if res.failed.Load() != 0 || res.wrong.Load() != 0 || res.transport.Load() != 0 {
		t.Errorf("%d reviews failed, %d wrong, %d transport errors; first: %v", res.failed.Load(), res.wrong.Load(), res.transport.Load(), res.firstWrong.Load())
	}
}

// TestServerPanicRecovered: a policy evaluation that panics, under load,
// answers its review per the failure policy (denied with 500 when failing
// closed, admitted with a warning when open), is logged with the stack and
// counted; the server and the other reviews go on.
func TestServerPanicRecovered(t *testing.T) {
	eng, err := policy.New(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("failOpen=%v", failOpen), func(t *testing.T) {
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
			cert := writeCert(t, certFile, keyFile, 1)
			var logBuf lockedBuffer
			m := NewMetrics()
			addr, stop := startServer(t, Options{CertFile: certFile, KeyFile: keyFile, Handler: HandlerOptions{
				Evaluator: testEvaluator{eng: eng}, FailOpen: failOpen, Metrics: m,
				Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))}})
			bodies, allowed, panicking := reviewBodies(t, true)
			var res loadResult
			quit := make(chan struct{})
			c := apiServerClient(cert)
			wg := sendReviews(c, "https://"+addr, 8, bodies, allowed, panicking, failOpen, quit, &res)
			time.Sleep(1500 * time.Millisecond)
			close(quit)
			t0 := time.Now()
			wg.Wait()
			// Connections dialed but never used count as busy for up to 5 s
			// in http.Server.Shutdown: the client lets go of them.
			c.CloseIdleConnections()
			t1 := time.Now()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			t.Logf("load drained in %s, server stopped in %s", t1.Sub(t0), time.Since(t1))
			t.Logf("%d reviews, %d panics recovered", res.sent.Load(), m.Panics())
			if res.wrong.Load() != 0 || res.transport.Load() != 0 {
				t.Errorf("%d wrong answers, %d transport errors; first: %v", res.wrong.Load(), res.transport.Load(), res.firstWrong.Load())
			}
			if m.Panics() < uint64(res.sent.Load()/4) || m.Panics() == 0 {
				t.Errorf("%d panics counted for %d reviews (half of which panic)", m.Panics(), res.sent.Load())
			}
			if log := logBuf.String(); !strings.Contains(log, "policy evaluation panicked") || !strings.Contains(log, "assignment to entry in nil map") || !strings.Contains(log, "shutdown_test.go") {
				t.Errorf("the panic is not logged with its value and stack:\n%.2000s", log)
			}
			var mb strings.Builder
			m.WriteTo(&mb)
			if !strings.Contains(mb.String(), fmt.Sprintf("bulwark_admission_evaluation_panics_total %d", m.Panics())) {
				t.Errorf("metrics lack the panic count:\n%s", mb.String())
			}
		})
	}
}
