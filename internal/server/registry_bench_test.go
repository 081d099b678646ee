package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// benchCache is the server's cache directory: $BULWARK_BENCH_CACHE when it
// holds a real DB (bench/registry.sh builds one from ../shared/vulndata),
// else a small test DB.
func benchCache(b *testing.B) string {
	if c := os.Getenv("BULWARK_BENCH_CACHE"); c != "" {
		return c
	}
	c := b.TempDir()
	watchDB(b, c)
	return c
}

// BenchmarkPushToStored: from the end of a push (the registry then sends
// its notification) to the stored result, for the Debian test image:
// cold-layers has never seen the base layer (it is pulled and analysed),
// warm-layers is a rebuilt app on the same base (only its new layer is).
func BenchmarkPushToStored(b *testing.B) {
	rootfs := testenv.DebianRootfs(b, "bookworm-minbase")
	base, err := tarball.LayerFromFile(rootfs)
	if err != nil {
		b.Fatal(err)
	}
	cache := benchCache(b)
	e := startWatchServer(b, "", b.TempDir(), cache, &movableClock{})
	host := testenv.Registry(b, testenv.RegistryOptions{NotifyURL: e.url + "/api/v1/registries/bench/events", NotifyToken: e.ingest})
	if _, err := e.admin.AddRegistry(context.Background(), client.NewRegistry{Config: registry.Config{Name: "bench", URL: "http://" + host}}); err != nil {
		b.Fatal(err)
	}
	// The compressed base is pushed once (its blob is then known to the
	// registry); each iteration's image adds a small unique layer.
	warm := push(b, host+"/debian/base:warmup", debianImage(b, base, "warmup"))
	waitAllScanned(b, e.srv.Store, []string{warm}, 2*time.Minute)
	for _, mode := range []string{"cold-layers", "warm-layers"} {
		b.Run(mode, func(b *testing.B) {
			var total time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				if mode == "cold-layers" {
					os.RemoveAll(filepath.Join(cache, "layers")) //nolint:errcheck
				}
				img := debianImage(b, base, fmt.Sprintf("%s %d %d", mode, i, time.Now().UnixNano()))
				b.StartTimer()
				d := push(b, fmt.Sprintf("%s/debian/app:%s-%d", host, mode, i), img)
				start := time.Now()
				waitAllScanned(b, e.srv.Store, []string{d}, 2*time.Minute)
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/notified-to-stored")
		})
	}
}

func debianImage(b *testing.B, base v1.Layer, app string) v1.Image {
	img, err := mutate.AppendLayers(empty.Image, base, tarLayer(b, map[string]string{"app/name": app}))
	if err != nil {
		b.Fatal(err)
	}
	return img
}

// BenchmarkReplicaThroughput: 200 small images pushed first (their
// notifications held back), then delivered at once to one replica; the
// time until all 200 are stored, with one and with two replicas on one
// PostgreSQL (each replica runs 2 scans of the registry at once).
func BenchmarkReplicaThroughput(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas-%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dsn := testenv.Postgres(b)
				key := filepath.Join(b.TempDir(), "secrets.key")
				var reps []*replica
				for range n {
					reps = append(reps, startReplica(b, dsn, key))
				}
				st, err := store.Open(context.Background(), dsn, "", store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				_, adminTok, _ := api.CreateToken(context.Background(), st, api.TokenRequest{Name: "admin", Scopes: "admin,read"}, "bench", time.Now())
				_, ingestTok, _ := api.CreateToken(context.Background(), st, api.TokenRequest{Name: "ingest", Scopes: "ingest"}, "bench", time.Now())
				held := &holder{}
				hs := httptest.NewServer(held)
				host := testenv.Registry(b, testenv.RegistryOptions{NotifyURL: hs.URL, NotifyToken: ingestTok})
				ac, _ := client.New(reps[0].url, adminTok, client.Options{})
				if _, err := ac.AddRegistry(context.Background(), client.NewRegistry{Config: registry.Config{Name: "burst", URL: "http://" + host, Concurrency: 2}}); err != nil {
					b.Fatal(err)
				}
				time.Sleep(5500 * time.Millisecond) // the other replicas pick up the registry's queue
				digests := burst(b, host, 200)
				held.wait(b, 200)
				b.StartTimer()
				start := time.Now()
				for _, body := range held.take() {
					req, _ := http.NewRequest(http.MethodPost, reps[0].url+"/api/v1/registries/burst/events", bytes.NewReader(body))
					req.Header.Set("Content-Type", registry.DistributionMediaType)
					req.Header.Set("Authorization", "Bearer "+ingestTok)
					resp, err := http.DefaultClient.Do(req)
					if err != nil || resp.StatusCode != http.StatusAccepted {
						b.Fatalf("deliver: %v %v", resp, err)
					}
					resp.Body.Close()
				}
				waitAllScanned(b, st, digests, 5*time.Minute)
				took := time.Since(start)
				b.StopTimer()
				b.ReportMetric(200/took.Minutes(), "images/min")
				b.ReportMetric(200/took.Minutes()/float64(n), "images/min/replica")
				hs.Close()
				st.Close()
				for _, r := range reps {
					r.kill()
				}
				b.StartTimer()
			}
		})
	}
}

// holder keeps the notifications a registry sends.
type holder struct {
	mu     sync.Mutex
	bodies [][]byte
	events int
}

func (h *holder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, evs, err := registry.ParseEvents(r.Header.Get("Content-Type"), body)
	h.mu.Lock()
	if err == nil {
		for _, e := range evs {
			if e.Action == "push" {
				h.events++
			}
		}
	}
	h.bodies = append(h.bodies, body)
	h.mu.Unlock()
}

func (h *holder) wait(b *testing.B, n int) {
	deadline := time.Now().Add(time.Minute)
	for {
		h.mu.Lock()
		got := h.events
		h.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d push notifications held, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *holder) take() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.bodies
	h.bodies = nil
	return out
}
