package server

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestReplicaHelper is not a test: it is a server replica, run as a child
// process by the replica tests (so it can be killed for real).
func TestReplicaHelper(t *testing.T) {
	dsn := os.Getenv("BULWARK_REPLICA_DSN")
	if dsn == "" {
		t.Skip("run as a server replica by TestRegistryReplicas")
	}
	dir := os.Getenv("BULWARK_REPLICA_DIR")
	cache := filepath.Join(dir, "cache")
	watchDB(t, cache)
	s, err := Open(context.Background(), Options{DataDir: filepath.Join(dir, "data"), Database: dsn, Listen: "127.0.0.1:0", CacheDir: cache,
		SecretsKeyFile: os.Getenv("BULWARK_REPLICA_KEY"),
		Watch:          registry.Options{PollInterval: 50 * time.Millisecond, RetryBase: 200 * time.Millisecond, RescueAfter: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve(context.Background()) //nolint:errcheck
	if err := os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(s.Addr()), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr")) //nolint:errcheck
	select {}                                                             // until killed
}

type replica struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startReplica runs a server replica process on the shared PostgreSQL.
func startReplica(t testing.TB, dsn, key string) *replica {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaHelper$", "-test.timeout=30m")
	cmd.Env = append(os.Environ(), "BULWARK_REPLICA_DSN="+dsn, "BULWARK_REPLICA_DIR="+dir, "BULWARK_REPLICA_KEY="+key)
	logf, err := os.Create(filepath.Join(dir, "replica.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(r.done) }() //nolint:errcheck
	t.Cleanup(r.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			r.url = "http://" + string(b)
			return r
		}
		select {
		case <-r.done:
			b, _ := os.ReadFile(filepath.Join(dir, "replica.log"))
			t.Fatalf("replica exited:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("replica did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *replica) kill() {
	r.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck
	<-r.done
}

// burst pushes n small images (one base, an app layer each) with a few
// pushers at once, and returns their digests.
func burst(t testing.TB, host string, n int) []string {
	t.Helper()
	base := baseLayer(t, "3.0.11-1")
	out := make([]string, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				out[i] = push(t, fmt.Sprintf("%s/burst/app%d:v1", host, i%20), smallImage(t, base, fmt.Sprintf("app %d", i), "amd64"))
			}
		}()
	}
	wg.Wait()
	return out
}

// waitAllScanned waits until every digest has a final scan state.
func waitAllScanned(t testing.TB, st *store.Store, digests []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, d := range digests {
		for {
			s, err := st.ImageScanState(context.Background(), d)
			if err == nil && (s.State == store.ScanScanned || s.State == store.ScanFailed) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not scanned in %s: %+v %v", d, timeout, s, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// manifestPulls counts, per digest, the manifest reads the watch made
// (the registry's access log, by the watch's user agent).
func manifestPulls(t testing.TB, logPath string) map[string]int {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`"GET /v2/[^ ]+/manifests/(sha256:[a-f0-9]{64}) `)
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, registry.OwnUserAgent) {
			continue
		}
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[1]]++
		}
	}
	return out
}

// TestRegistryReplicas: two server replicas on one real PostgreSQL share
// the scan queue. A burst of 200 pushes (notifications to one replica,
// jobs taken by both); one replica is killed with SIGKILL mid-way. In the
// end every digest is scanned and stored exactly once, none lost; the
// watch pulled each manifest once, except those the killed replica had
// in hand.
func TestRegistryReplicas(t *testing.T) {
	dsn := testenv.Postgres(t)
	key := filepath.Join(t.TempDir(), "secrets.key")
	a := startReplica(t, dsn, key)
	b := startReplica(t, dsn, key)
	st, err := store.Open(context.Background(), dsn, "", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, adminTok, err := api.CreateToken(context.Background(), st, api.TokenRequest{Name: "admin", Scopes: "admin,read"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, ingestTok, err := api.CreateToken(context.Background(), st, api.TokenRequest{Name: "ingest", Scopes: "ingest"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "registry.log")
	host := testenv.Registry(t, testenv.RegistryOptions{NotifyURL: a.url + "/api/v1/registries/burst/events", NotifyToken: ingestTok, LogPath: logPath})
	ac, err := client.New(a.url, adminTok, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.AddRegistry(context.Background(), client.NewRegistry{Config: registry.Config{Name: "burst", URL: "http://" + host, Concurrency: 2}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var digests []string
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		// Kill replica b once a quarter of the burst is stored, while it
		// holds a job: with 2 workers a replica, 3 running jobs means one
		// is b's.
		for {
			var n, running int
			st.DB().QueryRow(`SELECT COUNT(*) FROM image_scans WHERE state = 'scanned'`).Scan(&n)                                //nolint:errcheck
			st.DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE state = 'running' AND kind = 'registry_scan'`).Scan(&running) //nolint:errcheck
			if n >= 50 && running >= 3 {
				b.kill()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	digests = burst(t, host, 200)
	<-killed
	waitAllScanned(t, st, digests, 120*time.Second)
	took := time.Since(start)
	var byReplicaDone int
	pulls := manifestPulls(t, logPath)
	extra := 0
	for _, d := range digests {
		s, err := st.ImageScanState(context.Background(), d)
		if err != nil || s.State != store.ScanScanned || s.Scans != 1 {
			t.Errorf("%s: %+v %v; want scanned, stored once", d, s, err)
		}
		if ok, _ := st.HasInventory(context.Background(), d); !ok {
			t.Errorf("%s: no inventory", d)
		}
		// A scan reads the manifest twice (its media type, then the image):
		// more means the digest was scanned again.
		switch n := pulls[d]; {
		case n == 0:
			t.Errorf("%s: never pulled by the watch", d)
		case n > 2:
			extra++
		}
		byReplicaDone++
	}
	// The killed replica held at most its concurrency of jobs.
	if extra > 2 {
		t.Errorf("%d digests pulled again; want at most the killed replica's 2 jobs in hand", extra)
	}
	var rescued int
	st.DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'registry_scan' AND attempt > 1`).Scan(&rescued) //nolint:errcheck
	t.Logf("200 images, 2 replicas (one killed at 50): %s, %.0f images/min; %d jobs run again after the kill, %d digests pulled again",
		took.Round(time.Millisecond), float64(byReplicaDone)/took.Minutes(), rescued, extra)
}
