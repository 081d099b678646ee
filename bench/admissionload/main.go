// Command admissionload measures `bulwark admission serve` under load: it
// starts the webhook (self-signed certificate in a temp dir, every built-in
// policy, the PSS ones in enforce mode and the Defender ones in audit mode)
// and sends realistic AdmissionReviews (Pods and Deployments, compliant and
// violating, 3–8 KB each) over loopback TLS at a fixed rate for a fixed
// time. The load is open-loop: request i is due at start+i/rate whatever
// happened to the previous ones, and its latency is measured from when it
// was due, so a stalled server shows up in the percentiles instead of
// slowing the sender down (no coordinated omission).
//
//	go run ./bench/admissionload -bin bin/bulwark -rate 500 -duration 20s
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	var (
		bin      = flag.String("bin", "bin/bulwark", "bulwark binary to start")
		url      = flag.String("url", "", "use a webhook already running at this base https URL instead of starting one (its certificate is not verified)")
		rate     = flag.Float64("rate", 500, "AdmissionReviews per second (open loop)")
		duration = flag.Duration("duration", 20*time.Second, "measured duration")
		warmup   = flag.Duration("warmup", 3*time.Second, "load before measuring (not counted)")
		h1       = flag.Bool("http1", false, "never negotiate HTTP/2")
		h2       = flag.Bool("http2", false, "start the webhook with --http2 (it serves HTTP/1.1 otherwise)")
		keep     = flag.Bool("keep", false, "keep the temp dir (certificate, config, server log)")
		sigterm  = flag.Duration("sigterm-after", 0, "send SIGTERM to the started server this long into the measured load (graceful shutdown test: no review may fail); keep -duration under this plus its drain delay")
	)
	flag.Parse()
	if err := run(*bin, *url, *rate, *duration, *warmup, *h1, *h2, *keep, *sigterm); err != nil {
		fmt.Fprintln(os.Stderr, "admissionload:", err)
		os.Exit(1)
	}
}

func run(bin, url string, rate float64, duration, warmup time.Duration, h1, h2, keep bool, sigterm time.Duration) error {
	if rate <= 0 || duration <= 0 {
		return errors.New("-rate and -duration must be positive")
	}
	dir, err := os.MkdirTemp("", "admissionload-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Println("temp dir:", dir)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	pid := 0 // of the server we started
	var exited <-chan error
	if sigterm > 0 && url != "" {
		return errors.New("-sigterm-after needs a server this command starts (no -url)")
	}
	if url == "" {
		pool, err := writeCert(dir)
		if err != nil {
			return fmt.Errorf("write certificate: %w", err)
		}
		tlsCfg.RootCAs = pool
		stop, p, addr, ex, err := startServer(bin, dir, h2)
		if err != nil {
			return err
		}
		pid, exited = p, ex
		defer stop()
		url = "https://" + addr
	} else {
		tlsCfg.InsecureSkipVerify = true
	}
	// Like the API server's webhook client (client-go): HTTP/2 when the
	// webhook offers it, else a pool of HTTP/1.1 connections, 25 idle.
	tr := &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: 25, ForceAttemptHTTP2: !h1, IdleConnTimeout: time.Minute}
	if h1 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if err := waitReady(client, url); err != nil {
		return err
	}
	bodies := reviews()
	sizes := make([]int, len(bodies))
	for i, b := range bodies {
		sizes[i] = len(b.body)
	}
	slices.Sort(sizes)
	fmt.Printf("bodies: %d variants, %d–%d bytes (median %d)\n", len(bodies), sizes[0], sizes[len(sizes)-1], sizes[len(sizes)/2])

	if warmup > 0 {
		load(client, url+"/validate", bodies, rate, warmup)
	}
	cpu0 := cpuTime(pid)
	if sigterm > 0 {
		t := time.AfterFunc(sigterm, func() {
			fmt.Printf("SIGTERM to the server at %s\n", sigterm)
			_ = syscall.Kill(pid, syscall.SIGTERM)
		})
		defer t.Stop()
	}
	st := load(client, url+"/validate?timeout=5s", bodies, rate, duration)
	st.print(rate, duration)
	if sigterm > 0 {
		select {
		case err := <-exited:
			fmt.Printf("server exited after SIGTERM: %v\n", errOrOK(err))
			if err != nil {
				return fmt.Errorf("server after SIGTERM: %w", err)
			}
		case <-time.After(30 * time.Second):
			return errors.New("server still running 30s after SIGTERM")
		}
	}
	if cpu := cpuTime(pid) - cpu0; pid != 0 && cpu > 0 { // not after a -sigterm-after exit
		fmt.Printf("server CPU: %.2f s for %d reviews = %.0f µs per review (%.0f%% of one core)\n",
			cpu.Seconds(), len(st.lat), float64(cpu.Microseconds())/float64(max(1, len(st.lat))), 100*cpu.Seconds()/st.elapsed.Seconds())
	}
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average at the end: %s", l)
	}
	if st.errors > 0 || st.failed > 0 {
		return fmt.Errorf("%d request(s) failed, %d review(s) answered as evaluation failures", st.errors, st.failed)
	}
	return nil
}

func errOrOK(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

type body struct {
	body      []byte
	wantAllow bool
}

type stats struct {
	lat                     []time.Duration
	errors, wrong, late     int
	failed                  int // answered, but as an evaluation failure (timeout, error, shutdown)
	allowed, denied, warned int
	firstErr                string
	elapsed                 time.Duration
}

// load sends rate requests per second for d, each at its due time.
func load(client *http.Client, url string, bodies []body, rate float64, d time.Duration) *stats {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	st := &stats{lat: make([]time.Duration, 0, n)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		} else if -w > 10*time.Millisecond {
			st.late++ // the sender itself fell behind (counted, still measured from due)
		}
		b := bodies[i%len(bodies)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			allowed, warned, failed, err := send(client, url, b.body)
			lat := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			st.lat = append(st.lat, lat)
			switch {
			case err != nil:
				st.errors++
				if st.firstErr == "" {
					st.firstErr = err.Error()
				}
			case failed:
				st.failed++
			case allowed != b.wantAllow:
				st.wrong++
			}
			if err == nil {
				if allowed {
					st.allowed++
				} else {
					st.denied++
				}
				if warned {
					st.warned++
				}
			}
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	return st
}

func send(client *http.Client, url string, b []byte) (allowed, warned, failed bool, err error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return false, false, false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, false, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, false, false, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	var rev struct {
		Response *struct {
			Allowed  bool     `json:"allowed"`
			Warnings []string `json:"warnings"`
			Status   *struct {
				Code int `json:"code"`
			} `json:"status"`
		} `json:"response"`
	}
	if err := json.Unmarshal(data, &rev); err != nil || rev.Response == nil {
		return false, false, false, fmt.Errorf("bad AdmissionReview response: %v %.200s", err, data)
	}
	r := rev.Response
	failed = r.Status != nil && r.Status.Code == http.StatusInternalServerError
	return r.Allowed, len(r.Warnings) > 0, failed, nil
}

func (s *stats) print(rate float64, d time.Duration) {
	slices.Sort(s.lat)
	pct := func(p float64) time.Duration {
		if len(s.lat) == 0 {
			return 0
		}
		i := int(p*float64(len(s.lat))+0.5) - 1
		return s.lat[max(0, min(i, len(s.lat)-1))]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	fmt.Printf("target %.0f/s for %s: sent %d, achieved %.1f/s (sender late %d)\n", rate, d, len(s.lat), float64(len(s.lat))/s.elapsed.Seconds(), s.late)
	fmt.Printf("responses: %d allowed (%d with warnings), %d denied; errors %d; unexpected verdicts %d; evaluation failures %d\n", s.allowed, s.warned, s.denied, s.errors, s.wrong, s.failed)
	if s.firstErr != "" {
		fmt.Printf("first error: %s\n", s.firstErr)
	}
	fmt.Printf("latency: p50 %s  p90 %s  p99 %s  max %s\n", ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(pct(1)))
}

func waitReady(client *http.Client, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webhook at %s not ready after 30s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startServer starts `bulwark admission serve` on a free loopback port.
// BULWARK_CPUPROFILE in the environment reaches the server.
func startServer(bin, dir string, h2 bool) (stop func(), pid int, addr string, exited <-chan error, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, "", nil, err
	}
	addr = l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, 0, "", nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, 0, "", nil, err
	}
	args := []string{"admission", "serve", "--addr", addr, "--cert", filepath.Join(dir, "tls.crt"),
		"--key", filepath.Join(dir, "tls.key"), "--config", cfg}
	if h2 {
		args = append(args, "--http2")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, 0, "", nil, fmt.Errorf("start %s: %w", bin, err)
	}
	done := make(chan struct{})
	ex := make(chan error, 1)
	go func() { ex <- cmd.Wait(); close(done) }()
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}, cmd.Process.Pid, addr, ex, nil
}

// cpuTime is a process's user+system CPU time from /proc (0 if unknown).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// config: PSS policies enforce (their default), Defender ones audit, and
// the registry allow-list set so that policy is evaluated too.
const config = `policies:
  BW-K8S-ALLOWED-REGISTRIES: {mode: audit, params: {allowed_registries: [registry.example.com]}}
  BW-K8S-DEFAULT-NAMESPACE: {mode: audit}
  BW-K8S-IMAGE-TAG: {mode: audit}
  BW-K8S-READONLY-ROOTFS: {mode: audit}
  BW-K8S-RESOURCE-LIMITS: {mode: audit}
  BW-K8S-SA-TOKEN-AUTOMOUNT: {mode: audit}
  BW-PSS-PRIVILEGED: {mode: enforce}
  BW-PSS-HOST-NAMESPACES: {mode: enforce}
  BW-PSS-HOST-PATH-VOLUMES: {mode: enforce}
  BW-PSS-CAPABILITIES-BASELINE: {mode: enforce}
  BW-PSS-RUN-AS-NON-ROOT: {mode: audit}
  BW-PSS-SECCOMP-PROFILE-RESTRICTED: {mode: audit}
  BW-PSS-CAPABILITIES-RESTRICTED: {mode: audit}
  BW-PSS-ALLOW-PRIVILEGE-ESCALATION: {mode: audit}
`

func writeCert(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bulwark-webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}
